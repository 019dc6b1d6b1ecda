-- A stream per topic, so ksqlDB can read the shop's events. Safe to run again.
CREATE STREAM IF NOT EXISTS PIZZA_ORDERED (
    order_id VARCHAR KEY,
    status INT,
    timestamp BIGINT,
    order STRUCT<
        extra_toppings ARRAY<STRING>,
        username STRING,
        customer_id STRING,
        sauce STRING,
        cheese STRING,
        main_topping STRING
    >
) WITH (KAFKA_TOPIC = 'pizza-ordered', VALUE_FORMAT = 'JSON', TIMESTAMP = 'timestamp');

CREATE STREAM IF NOT EXISTS PIZZA_ASSEMBLED (
    order_id VARCHAR KEY,
    status INT,
    baking_time INT,
    timestamp BIGINT
) WITH (KAFKA_TOPIC = 'pizza-assembled', VALUE_FORMAT = 'JSON', TIMESTAMP = 'timestamp');

CREATE STREAM IF NOT EXISTS PIZZA_BAKED (
    order_id VARCHAR KEY,
    status INT,
    timestamp BIGINT
) WITH (KAFKA_TOPIC = 'pizza-baked', VALUE_FORMAT = 'JSON', TIMESTAMP = 'timestamp');

CREATE STREAM IF NOT EXISTS PIZZA_DELIVERED (
    order_id VARCHAR KEY,
    status INT,
    timestamp BIGINT
) WITH (KAFKA_TOPIC = 'pizza-delivered', VALUE_FORMAT = 'JSON', TIMESTAMP = 'timestamp');

CREATE STREAM IF NOT EXISTS PIZZA_PENDING (
    order_id VARCHAR KEY,
    status INT,
    timestamp BIGINT
) WITH (KAFKA_TOPIC = 'pizza-pending', VALUE_FORMAT = 'JSON', TIMESTAMP = 'timestamp');

CREATE STREAM IF NOT EXISTS PIZZA_STATUS (
    order_id VARCHAR KEY,
    status INT,
    timestamp BIGINT
) WITH (KAFKA_TOPIC = 'pizza-status', VALUE_FORMAT = 'JSON', TIMESTAMP = 'timestamp');
