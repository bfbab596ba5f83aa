"""Grant isolation: with two grants, neither token sees the other's objects, listed or asked
for by id."""

from __future__ import annotations

from cds_conformance.model import Check
from cds_conformance.runner import CheckContext, Run, Unavailable, bearer

ISOLATION = Check(
    "wg3-01.grant-isolation",
    "isolation",
    "cds-wg3-01",
    "api",
    "MUST",
    "a token sees only its own Grant's objects, listed or by id",
)
CHECKS = [ISOLATION]


def run(run: Run) -> None:
    with run.checking(ISOLATION) as c:
        if c:
            a, b, url = _two_grants(run, c)
            ids_a = _ids(run, c, url, a)
            ids_b = _ids(run, c, url, b)
            if not ids_a or not ids_b:
                c.skip("one of the two grants shows no accounts: nothing to compare")
            shared = ids_a & ids_b
            c.expect(not shared, f"both grants list accounts {sorted(shared)[:5]}")
            for mine, theirs, label in ((a, ids_b, "first"), (b, ids_a, "second")):
                r = run.http.get(
                    url,
                    headers=bearer(mine["access_token"]),
                    params={"cds_account_ids": " ".join(sorted(theirs))},
                )
                c.expect(
                    r.status_code in (200, 403, 404),
                    f"asking for the other grant's ids answered {r.status_code}",
                )
                if r.status_code == 200:
                    seen = {x.get("cds_account_id") for x in r.json().get("accounts") or []}
                    c.expect(
                        not seen,
                        f"the {label} grant's token gets {sorted(seen)[:5]} by id, "
                        "which only the other grant covers",
                    )


def _two_grants(run: Run, c: CheckContext) -> tuple[dict, dict, str]:
    """Two tokens on different grants of an account-listing scope: two consents (different
    Customers) where a consent hook is set, else two direct-access tokens preselecting
    different account numbers."""
    account_scopes = [
        s for s in run.consent_scopes() if run.description(s).get("type") == "cds_accounts"
    ]
    if account_scopes and run.options.consent is not None:
        a = run.consent_token(account_scopes[0], 1)
        b = run.consent_token(account_scopes[0], 2)
        return a, b, str(a["oauth"]["cds_accounts_api"])
    direct = [
        s
        for s in run.direct_scopes()
        if run.description(s).get("type") == "cds_query_accounts"
        and run.offers(s, "account_numbers")
    ]
    if not direct:
        raise Unavailable(
            "needs an account-listing scope with a consent hook, or a direct-access accounts "
            "scope offering `account_numbers`"
        )
    sid = direct[0]
    whole = run.cc_token(sid)
    url = str(whole["oauth"]["cds_accounts_api"])
    numbers = sorted(
        {x.get("account_number") for x in run.all_items(url, "accounts", whole["access_token"])}
        - {None}
    )
    if len(numbers) < 2:
        c.skip("fewer than two account numbers visible: cannot make two disjoint grants")
    a = run.cc_token(sid, [{"type": sid, "account_numbers": [numbers[0]]}])
    b = run.cc_token(sid, [{"type": sid, "account_numbers": [numbers[1]]}])
    return a, b, url


def _ids(run: Run, c: CheckContext, url: str, token: dict) -> set[str]:
    try:
        items = run.all_items(url, "accounts", token["access_token"])
    except Unavailable as exc:
        c.fail(str(exc))
    return {str(x.get("cds_account_id")) for x in items}
