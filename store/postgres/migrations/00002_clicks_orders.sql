-- +goose Up
-- Clicks, orders and what is counted from them. Several instances write these tables at once; every
-- count is changed by an upsert or an increment in SQL (see clicks.go for the argument), and no count
-- may go below zero: the CHECK constraints turn a change that would (aggregates out of step with the
-- orders they sum) into an error that rolls the whole transaction back.
--
-- The rows of counts and the visitor marks are updated over and over and only in columns no index
-- covers, so their updates can stay in the row's page (HOT updates, no new index entries): their
-- tables leave a fifth of each page free for them, and there is deliberately no index on last_ns.

-- clicks is the click log (bot visits are counted, never logged). Times are unix nanoseconds: the
-- unique-click rule compares times to the nanosecond (affiliate.UniqueWindow), and a click reads back
-- exactly as it was recorded. visitor is the uint64 visitor hash stored as its int64 bits; product_id,
-- affiliate_id and seller_id are the click's own, as it was recorded.
CREATE TABLE clicks (
    id           text    COLLATE "C" PRIMARY KEY,
    code         text    COLLATE "C" NOT NULL,
    product_id   bigint  NOT NULL,
    affiliate_id bigint  NOT NULL,
    seller_id    bigint  NOT NULL,
    at_ns        bigint  NOT NULL,
    visitor      bigint  NOT NULL,
    is_unique    boolean NOT NULL
);
-- PruneClicks deletes by time.
CREATE INDEX clicks_at ON clicks (at_ns);

-- click_visitors is the visitor mark of a (link, visitor): the time of the latest click judged (unix ns).
-- prev_ns is scratch for RecordClicks: the upsert that moves last_ns sets it to the value before, so that
-- one statement locks the mark, reads it and moves it (NULL on a mark just created).
CREATE TABLE click_visitors (
    code    text   COLLATE "C" NOT NULL,
    visitor bigint NOT NULL,
    last_ns bigint NOT NULL,
    prev_ns bigint,
    PRIMARY KEY (code, visitor)
) WITH (fillfactor = 80);

-- The aggregates: counts per unix hour (the hour of a click's or an order's time, 0 before 1970) of
-- each link, affiliate, product and seller, and each link's totals over all time. The columns are
-- affiliate.Counts; money in whole rupiah.
CREATE TABLE agg_link (
    code                text   COLLATE "C" NOT NULL,
    hour                bigint NOT NULL,
    clicks              bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    unique_clicks       bigint NOT NULL DEFAULT 0 CHECK (unique_clicks >= 0),
    bot_visits          bigint NOT NULL DEFAULT 0 CHECK (bot_visits >= 0),
    orders              bigint NOT NULL DEFAULT 0 CHECK (orders >= 0),
    gmv                 bigint NOT NULL DEFAULT 0 CHECK (gmv >= 0),
    refunded            bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    commission_pending  bigint NOT NULL DEFAULT 0 CHECK (commission_pending >= 0),
    commission_settled  bigint NOT NULL DEFAULT 0 CHECK (commission_settled >= 0),
    commission_reversed bigint NOT NULL DEFAULT 0 CHECK (commission_reversed >= 0),
    PRIMARY KEY (code, hour)
) WITH (fillfactor = 80);

CREATE TABLE agg_affiliate (
    affiliate_id        bigint NOT NULL,
    hour                bigint NOT NULL,
    clicks              bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    unique_clicks       bigint NOT NULL DEFAULT 0 CHECK (unique_clicks >= 0),
    bot_visits          bigint NOT NULL DEFAULT 0 CHECK (bot_visits >= 0),
    orders              bigint NOT NULL DEFAULT 0 CHECK (orders >= 0),
    gmv                 bigint NOT NULL DEFAULT 0 CHECK (gmv >= 0),
    refunded            bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    commission_pending  bigint NOT NULL DEFAULT 0 CHECK (commission_pending >= 0),
    commission_settled  bigint NOT NULL DEFAULT 0 CHECK (commission_settled >= 0),
    commission_reversed bigint NOT NULL DEFAULT 0 CHECK (commission_reversed >= 0),
    PRIMARY KEY (affiliate_id, hour)
) WITH (fillfactor = 80);

CREATE TABLE agg_product (
    product_id          bigint NOT NULL,
    hour                bigint NOT NULL,
    clicks              bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    unique_clicks       bigint NOT NULL DEFAULT 0 CHECK (unique_clicks >= 0),
    bot_visits          bigint NOT NULL DEFAULT 0 CHECK (bot_visits >= 0),
    orders              bigint NOT NULL DEFAULT 0 CHECK (orders >= 0),
    gmv                 bigint NOT NULL DEFAULT 0 CHECK (gmv >= 0),
    refunded            bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    commission_pending  bigint NOT NULL DEFAULT 0 CHECK (commission_pending >= 0),
    commission_settled  bigint NOT NULL DEFAULT 0 CHECK (commission_settled >= 0),
    commission_reversed bigint NOT NULL DEFAULT 0 CHECK (commission_reversed >= 0),
    PRIMARY KEY (product_id, hour)
) WITH (fillfactor = 80);

CREATE TABLE agg_seller (
    seller_id           bigint NOT NULL,
    hour                bigint NOT NULL,
    clicks              bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    unique_clicks       bigint NOT NULL DEFAULT 0 CHECK (unique_clicks >= 0),
    bot_visits          bigint NOT NULL DEFAULT 0 CHECK (bot_visits >= 0),
    orders              bigint NOT NULL DEFAULT 0 CHECK (orders >= 0),
    gmv                 bigint NOT NULL DEFAULT 0 CHECK (gmv >= 0),
    refunded            bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    commission_pending  bigint NOT NULL DEFAULT 0 CHECK (commission_pending >= 0),
    commission_settled  bigint NOT NULL DEFAULT 0 CHECK (commission_settled >= 0),
    commission_reversed bigint NOT NULL DEFAULT 0 CHECK (commission_reversed >= 0),
    PRIMARY KEY (seller_id, hour)
) WITH (fillfactor = 80);

CREATE TABLE link_totals (
    code                text   COLLATE "C" PRIMARY KEY,
    clicks              bigint NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    unique_clicks       bigint NOT NULL DEFAULT 0 CHECK (unique_clicks >= 0),
    bot_visits          bigint NOT NULL DEFAULT 0 CHECK (bot_visits >= 0),
    orders              bigint NOT NULL DEFAULT 0 CHECK (orders >= 0),
    gmv                 bigint NOT NULL DEFAULT 0 CHECK (gmv >= 0),
    refunded            bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    commission_pending  bigint NOT NULL DEFAULT 0 CHECK (commission_pending >= 0),
    commission_settled  bigint NOT NULL DEFAULT 0 CHECK (commission_settled >= 0),
    commission_reversed bigint NOT NULL DEFAULT 0 CHECK (commission_reversed >= 0)
) WITH (fillfactor = 80);

-- click_counters are the running counters of logged clicks, bot visits and visits to unknown codes,
-- spread over a few rows (slots) so that instances adding at once seldom wait for each other's row; a
-- counter is the sum over the slots.
CREATE TABLE click_counters (
    slot      smallint PRIMARY KEY,
    n_clicks  bigint   NOT NULL DEFAULT 0 CHECK (n_clicks >= 0),
    n_bots    bigint   NOT NULL DEFAULT 0 CHECK (n_bots >= 0),
    n_orphans bigint   NOT NULL DEFAULT 0 CHECK (n_orphans >= 0)
) WITH (fillfactor = 80);
INSERT INTO click_counters (slot) SELECT generate_series(0, 15);

-- orders: affiliate.Order in doc (the bbolt backend's encoding, times to the nanosecond), one per
-- (seller, order id). occurred_sec is the order's time as a whole unix second (0 before 1970), the
-- order of a seller's list (SellerOrders pages by it, then by order id); occurred_at is the same time
-- for SQL readers.
CREATE TABLE orders (
    seller_id    bigint      NOT NULL,
    order_id     text        COLLATE "C" NOT NULL,
    occurred_sec bigint      NOT NULL,
    occurred_at  timestamptz NOT NULL,
    doc          jsonb       NOT NULL,
    PRIMARY KEY (seller_id, order_id)
);
CREATE INDEX orders_seller_time ON orders (seller_id, occurred_sec, order_id);

-- +goose Down
DROP TABLE orders;
DROP TABLE click_counters;
DROP TABLE link_totals;
DROP TABLE agg_seller;
DROP TABLE agg_product;
DROP TABLE agg_affiliate;
DROP TABLE agg_link;
DROP TABLE click_visitors;
DROP TABLE clicks;
