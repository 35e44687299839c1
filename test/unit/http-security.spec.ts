import type { IncomingMessage } from "http";
import { clientAddress, corsSettings } from "../../services/api/http-security";

function request(peer: string, forwardedFor?: string): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
  } as unknown as IncomingMessage;
}

describe("clientAddress", () => {
  it("is the socket's address when no proxy is trusted, whatever X-Forwarded-For says", () => {
    expect(clientAddress(request("203.0.113.7", "1.2.3.4"), [])).toBe("203.0.113.7");
  });

  it("takes the address the trusted proxy saw, not the ones the client wrote before it", () => {
    const req = request("10.0.0.5", "6.6.6.6, 198.51.100.9");

    expect(clientAddress(req, ["10.0.0.5"])).toBe("198.51.100.9");
  });

  it("skips a chain of trusted proxies", () => {
    const req = request("10.0.0.5", "198.51.100.9, 10.0.0.4");

    expect(clientAddress(req, ["10.0.0.5", "10.0.0.4"])).toBe("198.51.100.9");
  });

  it("unwraps IPv4-mapped IPv6 addresses", () => {
    expect(clientAddress(request("::ffff:127.0.0.1"), [])).toBe("127.0.0.1");
  });

  it("falls back to the proxy's address when the header is missing", () => {
    expect(clientAddress(request("10.0.0.5"), ["10.0.0.5"])).toBe("10.0.0.5");
  });
});

describe("corsSettings", () => {
  it("is off without an allowlist", () => {
    expect(corsSettings([])).toBeUndefined();
  });

  it("allows exactly the listed origins, with credentials", () => {
    expect(corsSettings(["https://app.school.example"])).toMatchObject({
      origin: ["https://app.school.example"],
      credentials: true,
    });
  });

  it("never combines * with credentials", () => {
    expect(corsSettings(["*"])).toMatchObject({ origin: ["*"], credentials: false });
  });
});
