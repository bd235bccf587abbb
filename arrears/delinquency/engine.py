"""The delinquency arithmetic of `arithmetic.py`, set-based in SQL, for the end-of-day batch.

One pass computes every account of the work set as of a business date D:

1. `eod_paid`: per account, the payments effective by the end of D (local time), and the
   first later payment date (a payment loaded ahead of its date changes the state that day).
2. `eod_inst`: the instalments — rows of `portfolio_instalment` for accounts with a schedule
   file, and for the others the equal-instalment schedule derived with `generate_series`
   exactly as `portfolio.schedule.equal_instalments` does (`date + interval 'n months'`
   clamps to the month's end like `add_months`).
3. One window over the instalments ordered oldest first gives each one's cumulative due; the
   amount a payment total P applies to an instalment is clamp(P - cum_before, 0, total), and
   within the instalment the product's allocation order splits it between components.
4. Aggregates per account give the state; a lookup table turns DPD into the bucket and the
   next bucket boundary; `next_change_date` says when the account must be looked at again
   without new data, which is what makes the daily run incremental.

The result lands in the temporary table `eod_new` (dropped at commit); `services` compares it
with the stored state to write transitions and then stores it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

# The columns of `delinquency_accountstate` the batch writes (besides account_id, as_of, updated_at).
STATE_COLUMNS = (
    "paid_fen",
    "due_to_date_fen",
    "overdue_principal_fen",
    "overdue_interest_fen",
    "overdue_fee_fen",
    "overdue_premium_fen",
    "overdue_fen",
    "outstanding_fen",
    "credit_fen",
    "missed_instalments",
    "delinquent_since",
    "bucket_code",
    "bucket_group",
    "next_due_date",
    "next_change_date",
)

TEMP_TABLES = (
    "eod_products",
    "eod_ladder",
    "eod_paid",
    "eod_acc",
    "eod_gen",
    "eod_file",
    "eod_totals",
    "eod_behind",
    "eod_inst",
    "eod_arrears",
    "eod_new",
)

COMPONENT_COLUMNS = {"principal": "pr", "interest": "it", "fee": "fe", "premium": "pm"}


def _prepare_reference_tables(cur: Any) -> None:
    """Products' rules with component positions, and a DPD → bucket lookup per ladder."""
    cur.execute(
        """
        CREATE TEMP TABLE eod_products ON COMMIT DROP AS
        SELECT p.id AS product_id, p.ladder_id,
               greatest(p.tolerance_fen, 1) AS threshold,
               p.due_date_shift = 'next_working_day' AS shift,
               p.case_open_dpd,
               (SELECT max(b.min_dpd) FROM portfolio_bucket b WHERE b.ladder_id = p.ladder_id) AS ladder_top,
               array_position(o.parts, 'principal') AS pos_pr,
               array_position(o.parts, 'interest') AS pos_it,
               array_position(o.parts, 'fee') AS pos_fe,
               array_position(o.parts, 'premium') AS pos_pm
          FROM portfolio_product p
          CROSS JOIN LATERAL (
              SELECT coalesce(array_agg(e ORDER BY n), '{}') AS parts
                FROM jsonb_array_elements_text(p.allocation_order) WITH ORDINALITY AS x(e, n)
          ) o;
        ANALYZE eod_products;

        -- For each ladder and each DPD from 0 to its highest min_dpd: the bucket, and the next
        -- boundary above (NULL in the top bucket). DPD beyond the top uses the top row.
        CREATE TEMP TABLE eod_ladder ON COMMIT DROP AS
        WITH tops AS (SELECT ladder_id, max(min_dpd) AS top FROM portfolio_bucket GROUP BY ladder_id)
        SELECT t.ladder_id, d.dpd, b.code, b."group" AS grp,
               (SELECT min(n.min_dpd) FROM portfolio_bucket n
                 WHERE n.ladder_id = t.ladder_id AND n.min_dpd > d.dpd) AS next_min_dpd
          FROM tops t
          CROSS JOIN LATERAL generate_series(0, t.top) AS d(dpd)
          CROSS JOIN LATERAL (
              SELECT code, "group" FROM portfolio_bucket b
               WHERE b.ladder_id = t.ladder_id AND b.min_dpd <= d.dpd
               ORDER BY b.min_dpd DESC LIMIT 1
          ) b;
        CREATE INDEX ON eod_ladder (ladder_id, dpd);
        ANALYZE eod_ladder;
        """
    )


def _component_paid(component: str, order_positions: dict[str, str]) -> str:
    """SQL for how much of `component` an instalment's applied amount pays, in the product's order."""
    column = COMPONENT_COLUMNS[component]
    before = " + ".join(
        f"CASE WHEN {order_positions[other]} < {order_positions[component]} THEN {COMPONENT_COLUMNS[other]} ELSE 0 END"
        for other in COMPONENT_COLUMNS
        if other != component
    )
    return f"least(greatest(applied - ({before}), 0), {column})"


def _source_queries(all_accounts: bool) -> tuple[str, str, str]:
    """Payments, accounts and stored-schedule totals of the work set.

    For every account, one hash aggregation over the whole tables is cheapest; for a work set
    (an ordinary day: a few per cent of the book) LATERAL subqueries make each account an index
    scan (`payment_account_paid_idx`, the account pk, `instalment_seq_unique`), so the cost
    follows the work set and not the size of the book.
    """
    effective = "p.paid_at < (%(boundary)s::timestamp AT TIME ZONE %(tz)s)"
    paid_columns = f"""
        greatest(coalesce(sum(p.amount_fen) FILTER (WHERE {effective}), 0), 0) AS paid,
        (min(p.paid_at) FILTER (WHERE NOT {effective}) AT TIME ZONE %(tz)s)::date AS next_payment_on"""
    file_columns = """
        sum(i.principal_due_fen + i.interest_due_fen + i.fee_due_fen + i.premium_due_fen) AS total_fen,
        coalesce(sum(i.principal_due_fen + i.interest_due_fen + i.fee_due_fen + i.premium_due_fen)
                 FILTER (WHERE i.due_date <= acc.last_past_due), 0) AS due_to_date_fen,
        min(i.due_date) FILTER (WHERE i.due_date > acc.last_past_due) AS next_due_raw"""
    if all_accounts:
        return (
            f"SELECT p.account_id, {paid_columns} FROM portfolio_payment p GROUP BY p.account_id",
            "portfolio_account a",
            f"""SELECT i.account_id, {file_columns}
                  FROM eod_acc acc JOIN portfolio_instalment i ON i.account_id = acc.account_id
                 WHERE NOT acc.generated GROUP BY i.account_id""",
        )
    return (
        f"""SELECT w.account_id, s.* FROM eod_accounts w
            CROSS JOIN LATERAL (SELECT {paid_columns} FROM portfolio_payment p WHERE p.account_id = w.account_id) s
            WHERE s.paid > 0 OR s.next_payment_on IS NOT NULL""",
        "eod_accounts w CROSS JOIN LATERAL (SELECT * FROM portfolio_account x WHERE x.id = w.account_id) a",
        f"""SELECT acc.account_id, s.* FROM eod_acc acc
            CROSS JOIN LATERAL (SELECT {file_columns} FROM portfolio_instalment i
                                 WHERE i.account_id = acc.account_id) s
            WHERE NOT acc.generated AND s.total_fen IS NOT NULL""",
    )


def last_past_due_date(cur: Any, *, business_date: dt.date, shift: bool) -> dt.date:
    """The latest due date that is past due on D: D-1, or with shifting the last working day before D.

    Shifting is monotone (a later due date never becomes effective earlier), so "effective due
    date < D" is the same as "due date ≤ this date" and no instalment row needs a calendar lookup.
    """
    yesterday = business_date - dt.timedelta(days=1)
    if not shift:
        return yesterday
    cur.execute(
        "SELECT max(day) FROM core_calendarday WHERE is_working AND day <= %s AND day > %s",
        [yesterday, yesterday - dt.timedelta(days=60)],
    )
    found = cur.fetchone()[0]
    return found if found is not None else yesterday


def compute(cur: Any, *, business_date: dt.date, all_accounts: bool) -> int:
    """Fill temp table `eod_new` with the state of the work set (`eod_accounts`, or every account).

    Two phases keep a full run fast. Phase one gives every account its totals without looking
    at single instalments of derived schedules (closed form: how many instalments fall due by
    the last past-due date, and their sums). Phase two allocates payments instalment by
    instalment only for accounts that are behind (due to date > paid), the few that need it.
    Returns the number of accounts computed. Runs inside the caller's transaction.
    """
    # ON COMMIT DROP cleans up after a real run; inside an enclosing transaction (tests, a
    # resumed run in the same session) an earlier pass's tables may still be there.
    cur.execute(f"DROP TABLE IF EXISTS {', '.join(TEMP_TABLES)}")
    _prepare_reference_tables(cur)
    paid_sql, accounts_sql, file_sql = _source_queries(all_accounts)
    # Payments count by the business day they were made in local time.
    boundary = dt.datetime.combine(business_date + dt.timedelta(days=1), dt.time(0, 0))
    params = {
        "d": business_date,
        "boundary": boundary,
        "tz": settings.TIME_ZONE,
        "last_plain": last_past_due_date(cur, business_date=business_date, shift=False),
        "last_shifted": last_past_due_date(cur, business_date=business_date, shift=True),
    }
    cur.execute(
        f"""
        CREATE TEMP TABLE eod_paid ON COMMIT DROP AS
        {paid_sql};
        CREATE UNIQUE INDEX ON eod_paid (account_id);
        ANALYZE eod_paid;

        CREATE TEMP TABLE eod_acc ON COMMIT DROP AS
        SELECT a.id AS account_id, a.product_id, a.principal_fen, a.term, a.first_due_date,
               a.instalment_fen, a.schedule_source = 'generated' AS generated, pr.shift,
               CASE WHEN pr.shift THEN %(last_shifted)s::date ELSE %(last_plain)s::date END AS last_past_due,
               a.principal_fen / a.term AS share, a.principal_fen %% a.term AS remainder
          FROM {accounts_sql}
          JOIN eod_products pr ON pr.product_id = a.product_id;
        CREATE UNIQUE INDEX ON eod_acc (account_id);
        ANALYZE eod_acc;

        -- Derived schedules in closed form. n = instalments due by last_past_due: the months
        -- from the first due date to it, plus one if that month's (clamped) date is not after it.
        CREATE TEMP TABLE eod_gen ON COMMIT DROP AS
        WITH months AS (
            -- date_part (double precision) is several times cheaper than extract (numeric).
            SELECT acc.*, ((date_part('year', acc.last_past_due) - date_part('year', acc.first_due_date)) * 12
                           + date_part('month', acc.last_past_due) - date_part('month', acc.first_due_date))::int AS m
              FROM eod_acc acc WHERE acc.generated
        ), counted AS (
            SELECT x.*, least(greatest(
                       CASE WHEN x.m < 0 THEN 0
                            WHEN (x.first_due_date + make_interval(months => x.m))::date <= x.last_past_due THEN x.m + 1
                            ELSE x.m END, 0), x.term) AS n,
                   CASE WHEN x.instalment_fen IS NULL THEN 0 ELSE greatest(x.instalment_fen - x.share, 0) END AS interest,
                   CASE WHEN x.instalment_fen IS NULL THEN 0
                        ELSE greatest(x.instalment_fen - x.share - x.remainder, 0) END AS last_interest
              FROM months x
        )
        SELECT c.account_id, c.n,
               c.term * c.share + c.remainder + (c.term - 1) * c.interest + c.last_interest AS total_fen,
               c.n * c.share + (c.n - CASE WHEN c.n = c.term THEN 1 ELSE 0 END) * c.interest
                 + CASE WHEN c.n = c.term THEN c.remainder + c.last_interest ELSE 0 END AS due_to_date_fen,
               CASE WHEN c.n < c.term THEN (c.first_due_date + make_interval(months => c.n))::date END AS next_due_raw
          FROM counted c;

        CREATE TEMP TABLE eod_file ON COMMIT DROP AS
        {file_sql};

        CREATE TEMP TABLE eod_totals ON COMMIT DROP AS
        SELECT acc.account_id, acc.product_id, acc.shift, acc.last_past_due,
               coalesce(t.total_fen, 0) AS total_fen, coalesce(t.due_to_date_fen, 0) AS due_to_date_fen,
               CASE WHEN acc.shift THEN coalesce(c.next_working_day, t.next_due_raw) ELSE t.next_due_raw END
                   AS next_due_date,
               coalesce(pd.paid, 0) AS paid, pd.next_payment_on
          FROM eod_acc acc
          LEFT JOIN (SELECT account_id, total_fen, due_to_date_fen, next_due_raw FROM eod_gen
                     UNION ALL
                     SELECT account_id, total_fen, due_to_date_fen, next_due_raw FROM eod_file) t
                 ON t.account_id = acc.account_id
          LEFT JOIN core_calendarday c ON acc.shift AND c.day = t.next_due_raw
          LEFT JOIN eod_paid pd ON pd.account_id = acc.account_id;
        CREATE UNIQUE INDEX ON eod_totals (account_id);
        ANALYZE eod_totals;

        -- Phase two: the past-due instalments of accounts that are behind, one row each.
        CREATE TEMP TABLE eod_behind ON COMMIT DROP AS
        SELECT t.account_id, t.product_id, t.shift, t.paid FROM eod_totals t WHERE t.due_to_date_fen > t.paid;
        ANALYZE eod_behind;

        CREATE TEMP TABLE eod_inst ON COMMIT DROP AS
        SELECT b.account_id, b.product_id, b.shift, b.paid, i.seq, i.due_date,
               i.principal_due_fen AS pr, i.interest_due_fen AS it, i.fee_due_fen AS fe, i.premium_due_fen AS pm
          FROM eod_behind b
          JOIN eod_acc acc ON acc.account_id = b.account_id AND NOT acc.generated
          -- LATERAL: an index scan per account behind, never a pass over every instalment.
          CROSS JOIN LATERAL (
              SELECT * FROM portfolio_instalment x
               WHERE x.account_id = b.account_id AND x.due_date <= acc.last_past_due
          ) i
        UNION ALL
        SELECT b.account_id, b.product_id, b.shift, b.paid, g.seq,
               (acc.first_due_date + make_interval(months => g.seq - 1))::date,
               s.principal, CASE WHEN acc.instalment_fen IS NULL THEN 0
                                 ELSE greatest(acc.instalment_fen - s.principal, 0) END, 0, 0
          FROM eod_behind b
          JOIN eod_acc acc ON acc.account_id = b.account_id AND acc.generated
          JOIN eod_gen gen ON gen.account_id = b.account_id
          CROSS JOIN LATERAL generate_series(1, gen.n) AS g(seq)
          CROSS JOIN LATERAL (
              SELECT acc.share + CASE WHEN g.seq = acc.term THEN acc.remainder ELSE 0 END AS principal
          ) s;
        ANALYZE eod_inst;
        """,
        params,
    )
    positions = {name: f"p.pos_{column}" for name, column in COMPONENT_COLUMNS.items()}
    paid_parts = {name: _component_paid(name, positions) for name in COMPONENT_COLUMNS}
    cur.execute(
        f"""
        CREATE TEMP TABLE eod_arrears ON COMMIT DROP AS
        WITH effective AS (
            SELECT i.*, i.pr + i.it + i.fe + i.pm AS total,
                   CASE WHEN i.shift THEN coalesce(c.next_working_day, i.due_date) ELSE i.due_date END AS eff_due,
                   p.threshold, {", ".join(positions.values())}
              FROM eod_inst i
              JOIN eod_products p ON p.product_id = i.product_id
              LEFT JOIN core_calendarday c ON i.shift AND c.day = i.due_date
        ), ordered AS (
            SELECT e.*, sum(e.total) OVER (PARTITION BY e.account_id ORDER BY e.eff_due, e.seq
                                           ROWS UNBOUNDED PRECEDING) AS cum
              FROM effective e
        ), applied AS (
            SELECT o.*, least(greatest(o.paid - (o.cum - o.total), 0), o.total) AS applied FROM ordered o
        )
        SELECT p.account_id,
               {
            ",".join(
                f"sum(CASE WHEN p.cum <= p.paid THEN 0 WHEN p.cum - p.total >= p.paid THEN p.{col}"
                f" ELSE p.{col} - {paid_parts[name]} END) AS overdue_{name}_fen"
                for name, col in COMPONENT_COLUMNS.items()
            )
        },
               min(p.eff_due) FILTER (WHERE p.cum - p.paid >= p.threshold) AS delinquent_since,
               count(*) FILTER (WHERE p.cum - p.paid >= p.threshold) AS missed_instalments
          FROM applied p
         GROUP BY p.account_id;
        CREATE UNIQUE INDEX ON eod_arrears (account_id);
        ANALYZE eod_arrears;

        CREATE TEMP TABLE eod_new ON COMMIT DROP AS
        WITH base AS (
            SELECT t.account_id, t.product_id, pr.ladder_id, pr.ladder_top, pr.case_open_dpd,
                   t.paid AS paid_fen,
                   t.due_to_date_fen,
                   coalesce(r.overdue_principal_fen, 0) AS overdue_principal_fen,
                   coalesce(r.overdue_interest_fen, 0) AS overdue_interest_fen,
                   coalesce(r.overdue_fee_fen, 0) AS overdue_fee_fen,
                   coalesce(r.overdue_premium_fen, 0) AS overdue_premium_fen,
                   greatest(t.due_to_date_fen - t.paid, 0) AS overdue_fen,
                   greatest(t.total_fen - t.paid, 0) AS outstanding_fen,
                   greatest(t.paid - t.due_to_date_fen, 0) AS credit_fen,
                   coalesce(r.missed_instalments, 0)::int AS missed_instalments,
                   r.delinquent_since,
                   coalesce(%(d)s::date - r.delinquent_since, 0) AS dpd,
                   t.next_due_date,
                   t.next_payment_on
              FROM eod_totals t
              JOIN eod_products pr ON pr.product_id = t.product_id
              LEFT JOIN eod_arrears r ON r.account_id = t.account_id
        )
        SELECT b.account_id, b.product_id, b.case_open_dpd, b.dpd,
               b.paid_fen, b.due_to_date_fen, b.overdue_principal_fen, b.overdue_interest_fen,
               b.overdue_fee_fen, b.overdue_premium_fen, b.overdue_fen, b.outstanding_fen,
               b.credit_fen, b.missed_instalments, b.delinquent_since,
               l.code AS bucket_code, l.grp AS bucket_group, b.next_due_date,
               -- The first later date the state can change with no new data: an instalment
               -- falls due, a bucket boundary (or the product's case-opening DPD) is reached,
               -- or a payment dated ahead becomes effective.
               nullif(least(
                   coalesce(b.next_due_date + 1, 'infinity'::date),
                   CASE WHEN b.delinquent_since IS NOT NULL AND l.next_min_dpd IS NOT NULL
                        THEN b.delinquent_since + l.next_min_dpd ELSE 'infinity'::date END,
                   CASE WHEN b.delinquent_since IS NOT NULL AND b.dpd < b.case_open_dpd
                        THEN b.delinquent_since + b.case_open_dpd ELSE 'infinity'::date END,
                   coalesce(b.next_payment_on, 'infinity'::date)
               ), 'infinity'::date) AS next_change_date
          FROM base b
          JOIN eod_ladder l ON l.ladder_id = b.ladder_id AND l.dpd = least(b.dpd, b.ladder_top);
        CREATE UNIQUE INDEX ON eod_new (account_id);
        ANALYZE eod_new;
        """,
        params,
    )
    cur.execute("SELECT count(*) FROM eod_new")
    return int(cur.fetchone()[0])
