"""The smoke flow through the generated Python client: a reward, its replay under the same
Idempotency-Key, a coupon, and its use. Reads PUNCHCARD_URL, PUNCHCARD_KEY_ID,
PUNCHCARD_KEY_SECRET and PUNCHCARD_CURRENCY_ID; exits non-zero on the first surprise."""

import base64
import os
import uuid

from punchcard_client import AuthenticatedClient
from punchcard_client.api.coupon_codes import create_code
from punchcard_client.api.coupons import create_coupon, use_coupon
from punchcard_client.api.deals import create_deal
from punchcard_client.api.leads import create_lead
from punchcard_client.api.wallet_transactions import create_transaction
from punchcard_client.api.wallets import create_wallet
from punchcard_client.models import (
    Coupon,
    CreateCoupon,
    CreateCouponCode,
    CreateLead,
    CreateWallet,
    CreateWalletTransaction,
    Deal,
    Lead,
    NewDeal,
    Wallet,
    WalletTransaction,
)


def expect(response, status, model):
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(response.parsed, model), type(response.parsed)
    return response.parsed


def main() -> None:
    token = base64.b64encode(
        f"{os.environ['PUNCHCARD_KEY_ID']}:{os.environ['PUNCHCARD_KEY_SECRET']}".encode()
    ).decode()
    client = AuthenticatedClient(base_url=os.environ["PUNCHCARD_URL"], token=token, prefix="Basic")
    run = uuid.uuid4().hex[:12]

    lead = expect(
        create_lead.sync_detailed(client=client, body=CreateLead.from_dict({"customer_id": f"py-{run}", "email": f"py-{run}@example.com"})),
        201,
        Lead,
    )
    wallet = expect(
        create_wallet.sync_detailed(
            client=client,
            body=CreateWallet.from_dict(
                {"lead_id": lead.id, "currency_id": os.environ["PUNCHCARD_CURRENCY_ID"]}
            ),
        ),
        201,
        Wallet,
    )

    reward = CreateWalletTransaction.from_dict(
        {"wallet_id": wallet.id, "kind": "reward", "amount": 25, "hash": f"py-order-{run}"}
    )
    first = create_transaction.sync_detailed(client=client, body=reward, idempotency_key=f"py-{run}")
    transaction = expect(first, 201, WalletTransaction)
    assert transaction.balance_after == 25, transaction
    assert transaction.hash_ == f"py-order-{run}", transaction
    assert "idempotent-replayed" not in first.headers
    assert int(first.headers["ratelimit-limit"]) > 0
    replay = create_transaction.sync_detailed(client=client, body=reward, idempotency_key=f"py-{run}")
    replayed = expect(replay, 201, WalletTransaction)
    assert replay.headers.get("idempotent-replayed") == "true", dict(replay.headers)
    assert replayed.id == transaction.id

    deal = expect(
        create_deal.sync_detailed(
            client=client,
            body=NewDeal.from_dict(
                {"name": f"Coffee {run}", "kind": "voucher", "sell_price": 10, "available": True}
            ),
        ),
        201,
        Deal,
    )
    code = create_code.sync_detailed(
        client=client,
        body=CreateCouponCode.from_dict({"deal_id": deal.id, "kind": "code", "value": f"PY{run.upper()}"}),
    )
    assert code.status_code == 201, code.content
    coupon = expect(
        create_coupon.sync_detailed(
            client=client,
            body=CreateCoupon.from_dict(
                {"deal_id": deal.id, "lead_id": lead.id, "mode": "reward", "hash": f"py-coupon-{run}"}
            ),
        ),
        201,
        Coupon,
    )
    used = expect(use_coupon.sync_detailed(client=client, id=coupon.id), 200, Coupon)
    assert str(used.status) == "used" or getattr(used.status, "value", None) == "used", used.status
    print("python client: reward, replay, coupon and use passed")


if __name__ == "__main__":
    main()
