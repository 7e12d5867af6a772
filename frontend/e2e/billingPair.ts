// A small legacy/migrated billing pair with a known answer for the reconciliation browser test: every
// GAS_STD account with tariff T3 in region north becomes GAS_FIX (systematic), a few accounts change
// status (isolated), some are lost and some unexpected. `fixed` repairs the product mapping, so a second
// run compared with the first resolves the systematic pattern and keeps the rest.
export interface BillingPair {
  legacy: string;
  migrated: string;
  fixed: string;
  truth: { accounts: number; systematic: number; status: number; differing: number; lost: number; unexpected: number; customers: number };
}

const REGIONS = ["north", "south", "east", "west"];
const TARIFFS = ["T1", "T2", "T3"];
const PRODUCTS = ["GAS_STD", "ELEC_STD", "DUAL"];
const STATUSES = ["ACTIVE", "CLOSED"];

export function billingPair(accounts = 3000, seed = 11): BillingPair {
  let state = seed;
  const rand = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const header = "account_id,customer_id,region,tariff,product,status,balance";
  const rows = Array.from({ length: accounts }, (_, i) => ({
    account_id: 500000 + i, customer_id: `C${100000 + i}`, region: pick(REGIONS), tariff: pick(TARIFFS),
    product: pick(PRODUCTS), status: pick(STATUSES), balance: (rand() * 900 + 10).toFixed(2),
  }));
  const line = (r: (typeof rows)[number], product = r.product, status = r.status) =>
    [r.account_id, r.customer_id, r.region, r.tariff, product, status, r.balance].join(",");
  const lost = new Set(rows.filter((_, i) => i % 577 === 3).map((r) => r.account_id));
  const statusChanged = new Set(rows.filter((r, i) => i % 431 === 7 && r.status === "ACTIVE" && !lost.has(r.account_id)).map((r) => r.account_id));
  const hit = (r: (typeof rows)[number]) => r.region === "north" && r.tariff === "T3" && r.product === "GAS_STD" && !lost.has(r.account_id);
  const unexpected = Array.from({ length: 4 }, (_, i) => `${900000 + i},C${900000 + i},south,T1,DUAL,ACTIVE,${(20 + i).toFixed(2)}`);
  const migratedRows = (fix: boolean) =>
    rows.filter((r) => !lost.has(r.account_id))
      .map((r) => line(r, hit(r) && !fix ? "GAS_FIX" : r.product, statusChanged.has(r.account_id) ? "SUSPENDED" : r.status));
  const systematic = rows.filter(hit).length;
  const impacted = new Set([...rows.filter((r) => hit(r) || lost.has(r.account_id) || statusChanged.has(r.account_id)).map((r) => r.customer_id)]);
  return {
    legacy: [header, ...rows.map((r) => line(r))].join("\n") + "\n",
    migrated: [header, ...migratedRows(false), ...unexpected].join("\n") + "\n",
    fixed: [header, ...migratedRows(true), ...unexpected].join("\n") + "\n",
    truth: { accounts, systematic, status: statusChanged.size, lost: lost.size, unexpected: unexpected.length,
      differing: rows.filter((r) => hit(r) || statusChanged.has(r.account_id)).length,
      customers: impacted.size + unexpected.length },
  };
}
