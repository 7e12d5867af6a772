// Numbers of a reconciliation as people read them: counts with separators, amounts with two decimals.
import type { ReconciliationSummary } from "../../api/types";

const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const count = (n: number | null | undefined) => (n === null || n === undefined ? "—" : n.toLocaleString("en-US"));
export const amount = (n: number | null | undefined) => (n === null || n === undefined ? "—" : money.format(n));
export const signedAmount = (n: number) => (n > 0 ? "+" : n < 0 ? "−" : "") + money.format(Math.abs(n));

/** The totals of the amount column the impact is sized in (the summary's `amount_column`), if any. */
export function sizedAmounts(s: ReconciliationSummary) {
  return s.amounts.find((a) => a.column === s.amount_column) ?? null;
}
