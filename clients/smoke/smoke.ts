// The smoke flow through the generated TypeScript client: a reward, its replay under the same
// Idempotency-Key, a coupon, and its use. Reads PUNCHCARD_URL, PUNCHCARD_KEY_ID,
// PUNCHCARD_KEY_SECRET and PUNCHCARD_CURRENCY_ID; exits non-zero on the first surprise.
import { client } from "./client/client.gen";
import {
  createCode,
  createCoupon,
  createDeal,
  createLead,
  createTransaction,
  createWallet,
  useCoupon,
} from "./client/sdk.gen";

// Node's `process`, declared here so the check needs no type packages.
declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`smoke check failed: ${what}`);
}

async function main(): Promise<void> {
  const env = process.env;
  client.setConfig({
    baseUrl: env.PUNCHCARD_URL,
    auth: () => `${env.PUNCHCARD_KEY_ID}:${env.PUNCHCARD_KEY_SECRET}`,
  });
  const run = Math.random().toString(36).slice(2, 12);

  const lead = await createLead({ body: { customer_id: `ts-${run}`, email: `ts-${run}@example.com` } });
  check(lead.response.status === 201 && lead.data, `lead created: ${JSON.stringify(lead.error)}`);
  const wallet = await createWallet({
    body: { lead_id: lead.data.id, currency_id: env.PUNCHCARD_CURRENCY_ID! },
  });
  check(wallet.response.status === 201 && wallet.data, "wallet created");

  const reward = {
    body: { wallet_id: wallet.data.id, kind: "reward" as const, amount: 25, hash: `ts-order-${run}` },
    headers: { "Idempotency-Key": `ts-${run}` },
  };
  const first = await createTransaction(reward);
  check(first.response.status === 201 && first.data, `reward written: ${JSON.stringify(first.error)}`);
  check(first.data.balance_after === 25, "balance after the reward");
  check(first.response.headers.get("idempotent-replayed") === null, "first answer is not a replay");
  check(Number(first.response.headers.get("ratelimit-limit")) > 0, "rate-limit headers");
  const replay = await createTransaction(reward);
  check(replay.response.status === 201 && replay.data, "replay answered");
  check(replay.response.headers.get("idempotent-replayed") === "true", "replay is marked");
  check(replay.data.id === first.data.id, "replay answers the first transaction");

  const deal = await createDeal({
    body: { name: `Coffee ${run}`, kind: "voucher", sell_price: 10, available: true },
  });
  check(deal.response.status === 201 && deal.data, `deal created: ${JSON.stringify(deal.error)}`);
  const code = await createCode({
    body: { deal_id: deal.data.id, kind: "code", value: `TS${run.toUpperCase()}` },
  });
  check(code.response.status === 201, `code added: ${JSON.stringify(code.error)}`);
  const coupon = await createCoupon({
    body: { deal_id: deal.data.id, lead_id: lead.data.id, mode: "reward", hash: `ts-coupon-${run}` },
  });
  check(coupon.response.status === 201 && coupon.data, `coupon issued: ${JSON.stringify(coupon.error)}`);
  const used = await useCoupon({ path: { id: coupon.data.id } });
  check(used.response.status === 200 && used.data?.status === "used", "coupon used");
  console.log("typescript client: reward, replay, coupon and use passed");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
