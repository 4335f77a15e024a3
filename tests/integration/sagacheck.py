"""The stock saga's invariants, checked from both services' databases and the
catalog's inventory endpoint (docs/events.md, "Order and stock events"; issue 9).

    base = sagacheck.baseline(product_ids)       # before the orders
    ...                                          # checkouts, payments, cancels, faults
    sagacheck.assert_settled(self, product_ids, order_ids, timeout=90)

assert_settled first waits until no order of those products is `pending` (every
order that names one of them in its items, found in the orders schema: also the
ones whose client never saw an answer), then until the two services agree, and
fails with every disagreement still left at the timeout:

- every listed order exists (an order a client was answered 201 for is not lost);
- conservation, per product: on_hand + sold equals the baseline's (only admin
  inventory writes move it, and the tests make none); nothing negative,
  reserved <= on_hand;
- reserved equals the quantities of the orders that hold stock (orders
  `awaiting_payment`) and the catalog's `held` reservations; sold moved by
  exactly the units of the `sold` reservations made since the baseline (a sale
  or a return applied twice shows here, even though on_hand + sold would not);
- each order's catalog state (order_stock) fits its status:
      awaiting_payment           held
      paid, shipped, delivered   sold
      rejected                   rejected
      cancelled                  released, returned (it had been paid), a
                                 tombstone `cancelled` (cancelled before the
                                 catalog heard of it) or rejected
      refunded                   returned (refunded while paid: order.cancelled
                                 with reason refunded) or sold (refunded after
                                 it shipped: the goods are gone)
  and its reservations are its items (per product, quantities added up), all in
  the order's state; a rejected or tombstoned order has none;
- no reservation of these products without an order in the orders schema, no
  committed order_stock row left `new`;
- once: no order has two timeline rows of the same status (bar
  awaiting_payment, which payment.failed repeats), and no order is the answer of
  two idempotency keys;
- the inventory endpoint (as admin) shows the database's figures, and the
  public product document's stock is on_hand - reserved (no stale copy).

A double release, a second return or a lost reservation leaves one of these
false for good, so it ends as a failure naming the products and orders.
"""

import time

from arcadetest import admin_headers, get, product_path, service_db

HOLDS = {"awaiting_payment": {"held"},
         "paid": {"sold"}, "shipped": {"sold"}, "delivered": {"sold"},
         "rejected": {"rejected"},
         "cancelled": {"released", "returned", "cancelled", "rejected"},
         "refunded": {"returned", "sold"}}
RESERVING = {"held", "sold", "released", "returned"}  # order_stock states with reservations

_baselines = {}


def _ids(xs):
    return ",".join(str(int(x)) for x in xs) or "0"


class Baseline:
    """Per product: on_hand, reserved, sold, and the units of its sold
    reservations, as they were when taken."""

    def __init__(self, products, sold_rows):
        self.products = products
        self.sold_rows = sold_rows

    def __repr__(self):
        return "<baseline %r>" % (self.products,)


def _products(pids):
    rows = service_db("catalog", "SELECT id, on_hand, reserved, sold FROM products "
                      "WHERE id IN (%s)" % _ids(pids))
    return {int(r[0]): {"on_hand": int(r[1]), "reserved": int(r[2]), "sold": int(r[3])}
            for r in rows}


def _reservations(pids):
    """[(order_id, product_id, quantity, state)] of the products."""
    rows = service_db("catalog", "SELECT order_id, product_id, quantity, state FROM reservations "
                      "WHERE product_id IN (%s)" % _ids(pids))
    return [(int(o), int(p), int(q), s) for o, p, q, s in rows]


def baseline(product_ids):
    """Snapshots the products (catalog schema) before a test's orders; kept for
    assert_settled and returned."""
    pids = [int(p) for p in product_ids]
    prods = _products(pids)
    missing = set(pids) - set(prods)
    if missing:
        raise AssertionError("baseline: no such products %s" % sorted(missing))
    sold = {p: 0 for p in pids}
    for _, p, q, s in _reservations(pids):
        if s == "sold":
            sold[p] += q
    base = Baseline(prods, sold)
    for p in pids:
        _baselines[p] = base
    return base


def orders_of(product_ids):
    """{order_id: {"user_id", "status", "items": {product_id: quantity}}} of every
    order that names one of the products (all of each order's items)."""
    rows = service_db(
        "orders", "SELECT o.id, o.user_id, o.status, i.product_id, i.quantity FROM orders o "
        "JOIN order_items i ON i.order_id = o.id WHERE o.id IN (SELECT order_id FROM "
        "order_items WHERE product_id IN (%s))" % _ids(product_ids))
    out = {}
    for oid, uid, status, pid, qty in rows:
        o = out.setdefault(int(oid), {"user_id": int(uid), "status": status, "items": {}})
        o["items"][int(pid)] = o["items"].get(int(pid), 0) + int(qty)
    return out


def pending(product_ids, order_ids=()):
    """Ids of the orders of the products (and of order_ids) still pending."""
    rows = service_db("orders", "SELECT id FROM orders WHERE status = 'pending' AND (id IN "
                      "(SELECT order_id FROM order_items WHERE product_id IN (%s)) OR id IN (%s))"
                      % (_ids(product_ids), _ids(order_ids)))
    return sorted(int(r[0]) for r in rows)


def problems(base, product_ids, order_ids=(), documents=True):
    """Every invariant that does not hold now, as sentences (empty: all hold)."""
    pids = sorted(int(p) for p in product_ids)
    bad = []
    orders = orders_of(pids)
    listed = [int(o) for o in order_ids]
    found = {int(r[0]) for r in service_db("orders", "SELECT id FROM orders WHERE id IN (%s)"
                                           % _ids(listed))}
    for oid in listed:
        if oid not in found:
            bad.append("order %d was answered 201 but is not in the orders schema" % oid)
    for oid, o in sorted(orders.items()):
        if o["status"] == "pending":
            bad.append("order %d is still pending" % oid)
    resv = _reservations(pids)
    # all reservations of every order concerned (its other products too)
    oids = set(orders) | {o for o, _, _, _ in resv}
    all_resv = {}
    for o, p, q, s in [(int(a), int(b), int(c), d) for a, b, c, d in service_db(
            "catalog", "SELECT order_id, product_id, quantity, state FROM reservations "
            "WHERE order_id IN (%s)" % _ids(oids))]:
        all_resv.setdefault(o, {})[p] = (q, s)
    stock_state = {int(o): s for o, s in service_db(
        "catalog", "SELECT order_id, state FROM order_stock WHERE order_id IN (%s)" % _ids(oids))}

    for oid in sorted(oids):
        o = orders.get(oid)
        state = stock_state.get(oid)
        lines = all_resv.get(oid, {})
        if o is None:
            bad.append("reservation(s) %s of order %d, which the orders schema does not know "
                       "(catalog state %s)" % (lines, oid, state))
            continue
        status = o["status"]
        if status == "pending":
            continue
        if state is None:
            bad.append("order %d is %s, but the catalog never recorded it" % (oid, status))
            continue
        allowed = HOLDS.get(status)
        if allowed is None:
            bad.append("order %d has an unknown status %r" % (oid, status))
        elif state not in allowed:
            bad.append("order %d is %s, but its stock is %s in the catalog (expected %s)"
                       % (oid, status, state, " or ".join(sorted(allowed))))
        if state in RESERVING:
            want = {p: (q, state) for p, q in o["items"].items()}
            if lines != want:
                bad.append("order %d (%s, catalog %s): reservations %s, expected its items %s"
                           % (oid, status, state, lines, want))
        elif lines:
            bad.append("order %d (%s, catalog %s) has reservations %s" % (oid, status, state,
                                                                          lines))
    left_new = service_db("catalog", "SELECT order_id FROM order_stock WHERE state = 'new' AND "
                          "order_id IN (%s)" % _ids(oids))
    if left_new:
        bad.append("order_stock rows committed as new: %s" % [r[0] for r in left_new])

    prods = _products(pids)
    for p in pids:
        now, was = prods.get(p), base.products.get(p)
        if now is None or was is None:
            bad.append("product %d: no row now or in the baseline" % p)
            continue
        held = sum(q for _, pp, q, s in resv if pp == p and s == "held")
        sold_rows = sum(q for _, pp, q, s in resv if pp == p and s == "sold")
        holding = sum(o["items"].get(p, 0) for o in orders.values()
                      if o["status"] == "awaiting_payment")
        fig = "product %d (on_hand %d, reserved %d, sold %d; baseline %r)" % (
            p, now["on_hand"], now["reserved"], now["sold"], was)
        if min(now.values()) < 0 or now["reserved"] > now["on_hand"]:
            bad.append("%s: a negative figure or more reserved than on hand" % fig)
        if now["on_hand"] + now["sold"] != was["on_hand"] + was["sold"]:
            bad.append("%s: on_hand + sold is %d, was %d (not conserved)"
                       % (fig, now["on_hand"] + now["sold"], was["on_hand"] + was["sold"]))
        if now["reserved"] != held:
            bad.append("%s: reserved %d != %d units in held reservations"
                       % (fig, now["reserved"], held))
        if now["reserved"] != holding:
            bad.append("%s: reserved %d != %d units of the orders awaiting payment"
                       % (fig, now["reserved"], holding))
        if now["sold"] - was["sold"] != sold_rows - base.sold_rows.get(p, 0):
            bad.append("%s: sold moved by %d, the sold reservations by %d (a sale or a return "
                       "applied twice, or lost)" % (fig, now["sold"] - was["sold"],
                                                     sold_rows - base.sold_rows.get(p, 0)))
        inv = get(product_path(p) + "/inventory", headers=admin_headers())
        want = dict(now, available=now["on_hand"] - now["reserved"])
        if inv.status != 200 or inv.json != want:
            bad.append("%s: GET inventory answered %r %r" % (fig, inv.status, inv.json))
        if documents:
            doc = get(product_path(p))
            stock = doc.json.get("stock") if isinstance(doc.json, dict) else None
            if doc.status != 200 or stock != want["available"]:
                bad.append("%s: the product document says stock %r (status %d), expected %d"
                           % (fig, stock, doc.status, want["available"]))

    if orders:
        for oid, status, n in service_db(
                "orders", "SELECT order_id, status, COUNT(*) FROM order_timeline WHERE order_id "
                "IN (%s) AND status <> 'awaiting_payment' GROUP BY order_id, status "
                "HAVING COUNT(*) > 1" % _ids(orders)):
            bad.append("order %s became %s %s times (timeline)" % (oid, status, n))
        for oid, n in service_db(
                "orders", "SELECT order_id, COUNT(*) FROM idempotency_keys WHERE order_id IN "
                "(%s) GROUP BY order_id HAVING COUNT(*) > 1" % _ids(orders)):
            bad.append("order %s is the answer of %s idempotency keys" % (oid, n))
    return bad


def assert_settled(testcase, product_ids, order_ids=(), timeout=90, base=None, documents=True):
    """Waits (at most timeout seconds in all) until no order of the products is
    pending and every invariant above holds; fails the test with what is still
    wrong otherwise. base: the products' baseline (default: the one baseline()
    took last for them). Returns the orders of the products, as orders_of."""
    pids = [int(p) for p in product_ids]
    if base is None:
        bases = {id(_baselines.get(p)) for p in pids}
        if None in [_baselines.get(p) for p in pids] or len(bases) != 1:
            raise AssertionError("assert_settled: no single baseline() of products %s" % pids)
        base = _baselines[pids[0]]
    deadline = time.monotonic() + timeout
    left = pending(pids, order_ids)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = pending(pids, order_ids)
    if left:
        testcase.fail("after %.0f s, %d order(s) still pending: %s"
                      % (timeout, len(left), left[:20]))
    bad = problems(base, pids, order_ids, documents)
    while bad and time.monotonic() < deadline:
        time.sleep(0.3)
        bad = problems(base, pids, order_ids, documents)
    if bad:
        testcase.fail("saga invariants broken after %.0f s (%d):\n  %s"
                      % (timeout, len(bad), "\n  ".join(bad[:30])))
    return orders_of(pids)
