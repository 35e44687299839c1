/**
 * A report document as a file: CSV (csv-stringify, lib/csv.ts), XLSX (exceljs) or PDF (pdfkit).
 * Why these libraries: docs/reports-service.md ("Formats").
 */
import ExcelJS from "exceljs";
import PDFDocument from "pdfkit";
import { csvTable } from "../../lib/csv";
import {
  cellText,
  type ReportChart,
  type ReportDocument,
  type ReportFormat,
  type ReportSection,
} from "./reports";

/** The main table (first section) with its header row. */
export function reportCsv(document: ReportDocument): Buffer {
  const [main] = document.sections;
  return Buffer.from(csvTable([main.columns.map((column) => column.header), ...main.rows]));
}

const NUMBER_FORMATS = { number: "General", percent: '0.00"%"', date: "yyyy-mm-dd hh:mm" } as const;

/** Excel refuses sheet names over 31 characters or with `[]:*?/\`. */
function sheetName(name: string): string {
  return name.replace(/[[\]:*?/\\]/g, " ").slice(0, 31);
}

/** One sheet per section: a bold header row frozen above typed cells (numbers, dates). */
export async function reportXlsx(document: ReportDocument): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = "Campus";
  workbook.title = document.title;
  workbook.created = document.generatedAt;
  for (const section of document.sections) {
    const sheet = workbook.addWorksheet(sheetName(section.name), {
      views: [{ state: "frozen", xSplit: 1, ySplit: 1 }],
    });
    sheet.columns = section.columns.map((column) => ({
      header: column.header,
      width: Math.max(10, column.width * 3),
      style: column.kind === "text" ? {} : { numFmt: NUMBER_FORMATS[column.kind] },
    }));
    sheet.getRow(1).font = { bold: true };
    sheet.addRows(section.rows);
    sheet.autoFilter = {
      from: { row: 1, column: 1 },
      to: { row: 1, column: section.columns.length },
    };
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

// ---- PDF ----

const MARGIN = 50;
const ROW_HEIGHT = 16;
const FONT = "Helvetica";
const BOLD = "Helvetica-Bold";

type Pdf = InstanceType<typeof PDFDocument>;

function titlePage(pdf: Pdf, document: ReportDocument): void {
  pdf.font(BOLD).fontSize(26).text(document.title, MARGIN, 200, { align: "center" });
  pdf.moveDown().font(FONT).fontSize(14).text(document.subtitle, { align: "center" });
  pdf
    .moveDown(2)
    .fontSize(10)
    .fillColor("#555555")
    .text(`Generated ${cellText(document.generatedAt, "date")} UTC by Campus`, { align: "center" });
  pdf.moveDown(3).fillColor("#000000").fontSize(11);
  for (const section of document.sections) {
    pdf.text(`${section.name}: ${section.rows.length} rows`, { align: "center" });
  }
}

/** A bar chart drawn with pdfkit's vector API: axis, one bar per label, values above the bars. */
function barChart(pdf: Pdf, chart: ReportChart): void {
  pdf.addPage();
  pdf.font(BOLD).fontSize(16).fillColor("#000000").text(chart.title, MARGIN, MARGIN);
  const left = MARGIN + 30;
  const bottom = 400;
  const height = 280;
  const width = pdf.page.width - left - MARGIN;
  const max = Math.max(1, ...chart.bars.map((bar) => bar.value));
  const slot = width / Math.max(1, chart.bars.length);
  pdf.lineWidth(1).strokeColor("#333333");
  pdf
    .moveTo(left, bottom - height)
    .lineTo(left, bottom)
    .lineTo(left + width, bottom)
    .stroke();
  pdf.font(FONT).fontSize(8).fillColor("#333333");
  for (const tick of [0, 0.5, 1]) {
    const y = bottom - tick * height;
    pdf.text(String(Math.round(max * tick)), MARGIN - 5, y - 4, { width: 30, align: "right" });
  }
  pdf
    .fontSize(9)
    .fillColor("#555555")
    .text(chart.caption, MARGIN, bottom + 24, {
      width: pdf.page.width - 2 * MARGIN,
      align: "center",
    });
  chart.bars.forEach((bar, index) => {
    const barHeight = (bar.value / max) * height;
    const x = left + index * slot + slot * 0.15;
    pdf.rect(x, bottom - barHeight, slot * 0.7, barHeight).fill("#3b6ea8");
    pdf.fillColor("#000000").fontSize(9);
    pdf.text(String(bar.value), x, bottom - barHeight - 12, { width: slot * 0.7, align: "center" });
    pdf.text(bar.label, x, bottom + 4, { width: slot * 0.7, align: "center" });
  });
}

/** A table that breaks across pages, its header row repeated at the top of each. */
function table(pdf: Pdf, section: ReportSection): void {
  pdf.addPage();
  pdf.font(BOLD).fontSize(14).fillColor("#000000").text(section.name, MARGIN, MARGIN);
  const usable = pdf.page.width - 2 * MARGIN;
  const total = section.columns.reduce((sum, column) => sum + column.width, 0);
  const widths = section.columns.map((column) => (column.width / total) * usable);
  const bottom = pdf.page.height - MARGIN;
  let y = MARGIN + 24;

  const row = (cells: string[], bold: boolean) => {
    pdf.font(bold ? BOLD : FONT).fontSize(8);
    let x = MARGIN;
    cells.forEach((text, index) => {
      pdf.text(text, x + 2, y + 4, {
        width: widths[index] - 4,
        height: ROW_HEIGHT - 4,
        lineBreak: false,
        ellipsis: true,
      });
      x += widths[index];
    });
    y += ROW_HEIGHT;
  };
  const header = () => {
    pdf.rect(MARGIN, y, usable, ROW_HEIGHT).fill("#dde6f0");
    pdf.fillColor("#000000");
    row(
      section.columns.map((column) => column.header),
      true,
    );
  };

  header();
  section.rows.forEach((cells, index) => {
    if (y + ROW_HEIGHT > bottom) {
      pdf.addPage();
      y = MARGIN;
      header();
    }
    if (index % 2 === 1) {
      pdf.rect(MARGIN, y, usable, ROW_HEIGHT).fill("#f4f4f4");
      pdf.fillColor("#000000");
    }
    row(
      cells.map((cell, column) => cellText(cell, section.columns[column].kind)),
      false,
    );
  });
  if (section.rows.length === 0) {
    pdf
      .font(FONT)
      .fontSize(9)
      .text("No rows.", MARGIN, y + 4);
  }
}

/** Title page, the chart (if any), then one table per section. */
export function reportPdf(document: ReportDocument): Promise<Buffer> {
  const pdf = new PDFDocument({
    size: "A4",
    margin: MARGIN,
    info: { Title: document.title, Subject: document.subtitle, Creator: "Campus" },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on("data", (chunk: Buffer) => chunks.push(chunk));
    pdf.on("end", () => resolve(Buffer.concat(chunks)));
    pdf.on("error", reject);
  });
  titlePage(pdf, document);
  if (document.chart) barChart(pdf, document.chart);
  for (const section of document.sections) table(pdf, section);
  pdf.end();
  return done;
}

export function reportFile(document: ReportDocument, format: ReportFormat): Promise<Buffer> {
  if (format === "csv") return Promise.resolve(reportCsv(document));
  if (format === "xlsx") return reportXlsx(document);
  return reportPdf(document);
}
