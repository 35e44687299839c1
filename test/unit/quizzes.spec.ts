import fc from "fast-check";
import {
  answerProblems,
  attemptDeadline,
  attemptOrder,
  isExpired,
  maxPointsOf,
  normaliseQuestions,
  publicQuestion,
  questionProblems,
  scoreAttempt,
  scoreMultipleChoice,
  scoreNumber,
  scoreSingleChoice,
  scoreText,
  shuffled,
  startDenial,
  windowProblems,
  type Question,
} from "../../services/quizzes/quizzes";

const single: Question = {
  id: "s",
  type: "single_choice",
  prompt: "Pick",
  points: 2,
  choices: [
    { id: "a", text: "A", correct: true },
    { id: "b", text: "B", correct: false },
  ],
};

const multiple: Question = {
  id: "m",
  type: "multiple_choice",
  prompt: "Pick all",
  points: 3,
  choices: [
    { id: "a", text: "A", correct: true },
    { id: "b", text: "B", correct: true },
    { id: "c", text: "C", correct: true },
    { id: "d", text: "D", correct: false },
  ],
};

const number: Question = {
  id: "n",
  type: "number",
  prompt: "How much?",
  points: 1,
  answer: 2.5,
  tolerance: 0.1,
};
const text: Question = {
  id: "t",
  type: "text",
  prompt: "Name?",
  points: 4,
  answer: " Ada Lovelace ",
  caseSensitive: false,
};

describe("scoreSingleChoice", () => {
  it("gives the points for the correct choice alone", () => {
    expect(scoreSingleChoice(single, ["a"])).toBe(2);
  });
  it("gives 0 for a wrong choice, no choice, or the correct one with another", () => {
    expect([
      scoreSingleChoice(single, ["b"]),
      scoreSingleChoice(single, []),
      scoreSingleChoice(single, ["a", "b"]),
    ]).toEqual([0, 0, 0]);
  });
});

describe("scoreMultipleChoice", () => {
  it("gives 1/k of the points per correct choice chosen", () => {
    expect(scoreMultipleChoice(multiple, ["a"])).toBe(1);
    expect(scoreMultipleChoice(multiple, ["a", "b"])).toBe(2);
    expect(scoreMultipleChoice(multiple, ["a", "b", "c"])).toBe(3);
  });
  it("takes 1/k off per wrong choice chosen", () => {
    expect(scoreMultipleChoice(multiple, ["a", "b", "d"])).toBe(1);
  });
  it("never goes below 0", () => {
    expect(scoreMultipleChoice(multiple, ["d"])).toBe(0);
  });
  it("rounds to hundredths", () => {
    expect(scoreMultipleChoice({ ...multiple, points: 1 }, ["a"])).toBe(0.33);
  });

  it("is never below 0 nor above the question's points (property)", () => {
    const question = fc
      .record({
        points: fc.integer({ min: 1, max: 100_000 }).map((cents) => cents / 100),
        flags: fc.array(fc.boolean(), { minLength: 2, maxLength: 20 }),
      })
      .filter(({ flags }) => flags.some(Boolean));
    fc.assert(
      fc.property(question, fc.array(fc.nat(19)), ({ points, flags }, picks) => {
        const subject: Question = {
          ...multiple,
          points,
          choices: flags.map((correct, index) => ({ id: `c${index}`, text: "x", correct })),
        };
        const chosen = [...new Set(picks.filter((pick) => pick < flags.length))].map(
          (pick) => `c${pick}`,
        );
        const score = scoreMultipleChoice(subject, chosen);
        return score >= 0 && score <= points;
      }),
    );
  });

  it("gives the full points exactly when all correct and no wrong choices are chosen (property)", () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.boolean(), { minLength: 2, maxLength: 20 })
          .filter((flags) => flags.some(Boolean)),
        (flags) => {
          const subject: Question = {
            ...multiple,
            points: 5,
            choices: flags.map((correct, index) => ({ id: `c${index}`, text: "x", correct })),
          };
          const correct = subject.choices!.filter((c) => c.correct).map((c) => c.id);
          return scoreMultipleChoice(subject, correct) === 5;
        },
      ),
    );
  });
});

describe("scoreNumber", () => {
  it("accepts a value within the tolerance, edges included", () => {
    expect([scoreNumber(number, 2.5), scoreNumber(number, 2.4), scoreNumber(number, 2.6)]).toEqual([
      1, 1, 1,
    ]);
  });
  it("refuses a value outside it, and no value", () => {
    expect([scoreNumber(number, 2.61), scoreNumber(number, undefined)]).toEqual([0, 0]);
  });
  it("needs the exact value without a tolerance", () => {
    expect(scoreNumber({ ...number, tolerance: 0 }, 2.5)).toBe(1);
    expect(scoreNumber({ ...number, tolerance: 0 }, 2.5001)).toBe(0);
  });
});

describe("scoreText", () => {
  it("compares trimmed and case-insensitively by default", () => {
    expect(scoreText(text, "ada lovelace  ")).toBe(4);
  });
  it("is case-sensitive when the question says so", () => {
    const strict = { ...text, caseSensitive: true };
    expect([scoreText(strict, "ada lovelace"), scoreText(strict, "Ada Lovelace")]).toEqual([0, 4]);
  });
  it("gives 0 for another text or none", () => {
    expect([scoreText(text, "Ada"), scoreText(text, undefined)]).toEqual([0, 0]);
  });
});

describe("scoreAttempt", () => {
  it("scores every question in the attempt's order, unanswered as 0", () => {
    const questions = [single, multiple, number, text];
    const order = [
      { questionId: "t" },
      { questionId: "s" },
      { questionId: "m" },
      { questionId: "n" },
    ];

    const result = scoreAttempt(questions, order, [
      { questionId: "s", choiceIds: ["a"] },
      { questionId: "m", choiceIds: ["a", "d"] },
    ]);

    expect(result).toEqual({
      score: 2,
      results: [
        { questionId: "t", points: 0, maxPoints: 4 },
        { questionId: "s", points: 2, maxPoints: 2 },
        { questionId: "m", points: 0, maxPoints: 3 },
        { questionId: "n", points: 0, maxPoints: 1 },
      ],
    });
  });
});

describe("questionProblems", () => {
  it("accepts well-formed questions of every type", () => {
    expect(questionProblems([single, multiple, number, text])).toEqual([]);
  });

  it("refuses a single-choice question with two correct choices", () => {
    const two = { ...single, choices: single.choices!.map((c) => ({ ...c, correct: true })) };
    expect(questionProblems([two])).toEqual([
      {
        field: "questions[0].choices",
        message: expect.stringContaining("exactly one"),
        type: "correct",
      },
    ]);
  });

  it("refuses duplicate question and choice ids", () => {
    const dup = { ...single, choices: [single.choices![0], { ...single.choices![1], id: "a" }] };
    expect(questionProblems([number, dup, { ...text, id: "n" }]).map((p) => p.field)).toEqual([
      "questions[1].choices[1].id",
      "questions[2].id",
    ]);
  });

  it("refuses fields of another type and missing answers", () => {
    const fields = questionProblems([
      { ...single, answer: 1 },
      { ...number, answer: "x", caseSensitive: true },
      { ...text, answer: undefined, tolerance: 1 },
      { id: "x", type: "number", prompt: "p", points: 1, answer: 1, choices: [] },
    ]).map((p) => p.field);
    expect(fields).toEqual([
      "questions[0].answer",
      "questions[1].answer",
      "questions[1].caseSensitive",
      "questions[2].answer",
      "questions[2].tolerance",
      "questions[3].choices",
    ]);
  });
});

describe("normaliseQuestions", () => {
  it("gives ids where absent, defaults points to 1 and keeps only the fields of the type", () => {
    let n = 0;
    const newId = () => `id${(n += 1)}`;
    const result = normaliseQuestions(
      [
        {
          type: "single_choice",
          prompt: "p",
          choices: [{ text: "a", correct: true }, { text: "b" }],
        },
        { type: "number", prompt: "n", answer: 1 },
        { type: "text", prompt: "t", answer: "x" },
      ],
      newId,
    );
    expect(result).toEqual([
      {
        id: "id1",
        type: "single_choice",
        prompt: "p",
        points: 1,
        choices: [
          { id: "id2", text: "a", correct: true },
          { id: "id3", text: "b", correct: false },
        ],
      },
      { id: "id4", type: "number", prompt: "n", points: 1, answer: 1, tolerance: 0 },
      { id: "id5", type: "text", prompt: "t", points: 1, answer: "x", caseSensitive: false },
    ]);
    expect(maxPointsOf(result)).toBe(3);
  });
});

describe("answerProblems", () => {
  const questions = [single, multiple, number, text];

  it("accepts answers of the right kind to questions of the attempt", () => {
    expect(
      answerProblems(
        [
          { questionId: "s", choiceIds: ["a"] },
          { questionId: "m", choiceIds: [] },
          { questionId: "n", value: 1 },
          { questionId: "t", text: "" },
        ],
        questions,
      ),
    ).toEqual([]);
  });

  it("names each bad answer", () => {
    const fields = answerProblems(
      [
        { questionId: "zzz", text: "x" },
        { questionId: "s", choiceIds: ["a", "b"] },
        { questionId: "m", choiceIds: ["a", "a", "q"] },
        { questionId: "n", text: "1" },
        { questionId: "n", value: 2 },
      ],
      questions,
    ).map((p) => p.field);
    expect(fields).toEqual([
      "answers[0].questionId",
      "answers[1].choiceIds",
      "answers[2].choiceIds[2]",
      "answers[2].choiceIds",
      "answers[3]",
      "answers[4].questionId",
    ]);
  });
});

describe("the attempt's window and time limit", () => {
  const now = new Date("2030-01-01T12:00:00Z");

  it("refuses a start before opensAt, at or after closesAt, and without attempts left", () => {
    expect([
      startDenial({ opensAt: "2030-01-01T12:00:01Z", closesAt: null }, 0, 1, now),
      startDenial({ opensAt: null, closesAt: "2030-01-01T12:00:00Z" }, 0, 1, now),
      startDenial({ opensAt: null, closesAt: null }, 2, 2, now),
      startDenial({ opensAt: "2030-01-01T12:00:00Z", closesAt: null }, 1, 2, now),
    ]).toEqual(["QUIZ_CLOSED", "QUIZ_CLOSED", "NO_ATTEMPTS_LEFT", null]);
  });

  it("ends an attempt at its time limit, or at the quiz's close if sooner, or never", () => {
    expect(attemptDeadline(now, 60, null)).toEqual(new Date("2030-01-01T12:01:00Z"));
    expect(attemptDeadline(now, 60, "2030-01-01T12:00:30Z")).toEqual(
      new Date("2030-01-01T12:00:30Z"),
    );
    expect(attemptDeadline(now, null, null)).toBeNull();
  });

  it("expires an attempt only after the deadline plus 5 s of grace", () => {
    const deadline = new Date("2030-01-01T12:00:00Z");
    expect([
      isExpired(deadline, new Date("2030-01-01T12:00:05Z")),
      isExpired(deadline, new Date("2030-01-01T12:00:05.001Z")),
      isExpired(null, new Date("2999-01-01T00:00:00Z")),
    ]).toEqual([false, true, false]);
  });

  it("checks the window's times", () => {
    expect(windowProblems("2030-01-01T00:00:00+01:00", "2030-01-01T00:00:00Z")).toEqual([]);
    expect(windowProblems("2030-01-01", null).map((p) => p.field)).toEqual(["opensAt"]);
    expect(
      windowProblems("2030-01-02T00:00:00Z", "2030-01-01T00:00:00Z").map((p) => p.type),
    ).toEqual(["dateOrder"]);
  });
});

describe("shuffled order", () => {
  it("is a permutation (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), (items) => {
        expect([...shuffled(items)].sort()).toEqual([...items].sort());
      }),
    );
  });

  it("keeps the written order without shuffle", () => {
    expect(attemptOrder([single, number], false)).toEqual([
      { questionId: "s", choiceIds: ["a", "b"] },
      { questionId: "n" },
    ]);
  });

  it("shuffles questions and choices with the given source", () => {
    const firstIndex = () => 0; // always swap with the first: a deterministic permutation
    expect(attemptOrder([single, number], true, firstIndex)).toEqual([
      { questionId: "n" },
      { questionId: "s", choiceIds: ["b", "a"] },
    ]);
  });
});

describe("publicQuestion", () => {
  it("keeps no correct flag, answer or tolerance, and follows the attempt's choice order", () => {
    expect(publicQuestion(single, ["b", "a"])).toEqual({
      id: "s",
      type: "single_choice",
      prompt: "Pick",
      points: 2,
      choices: [
        { id: "b", text: "B" },
        { id: "a", text: "A" },
      ],
    });
    expect(publicQuestion(number)).toEqual({
      id: "n",
      type: "number",
      prompt: "How much?",
      points: 1,
    });
  });
});
