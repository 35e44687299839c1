/**
 * CSV files Campus hands out (the gradebook's export, reports): UTF-8 with a BOM (spreadsheets
 * then read the accents right), CRLF line ends and RFC 4180 quoting, with text a spreadsheet would
 * run as a formula neutralised.
 */
import { stringify } from "csv-stringify/sync";

/**
 * A spreadsheet would run a cell that starts with `=`, `+`, `-`, `@`, tab or carriage return as
 * a formula (CSV injection): such text gets a leading apostrophe, which shows it as text.
 */
export function neutraliseFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}

export type CsvCell = string | number | boolean | Date | null | undefined;

/** A header row and its records as one CSV text. Numbers are written as they are; dates as ISO 8601. */
export function csvTable(rows: readonly (readonly CsvCell[])[]): string {
  return stringify(rows as CsvCell[][], {
    bom: true,
    record_delimiter: "\r\n",
    // Only text can carry a formula.
    cast: {
      string: (value) => neutraliseFormula(value),
      date: (value) => value.toISOString(),
    },
  });
}
