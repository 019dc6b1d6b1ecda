//! The Java client's default partitioner for keyed records: where an order's events are. The
//! shop's producers leave placement to librdkafka's `murmur2_random`, which computes the same
//! (`kafka::client::producer_config`; librdkafka's default, CRC32, would not). This says where
//! an order's events belong, for whoever checks (`tests/it/partitions_added.rs` holds the two
//! together).

/// `toPositive(murmur2(key)) % partitions`, exactly as `org.apache.kafka.clients.producer`
/// computes it.
pub fn partition_for(key: &[u8], partitions: i32) -> i32 {
    debug_assert!(partitions > 0, "a topic has at least one partition");
    let positive = (murmur2::murmur2(key, murmur2::KAFKA_SEED) & 0x7fff_ffff) as i32;
    positive % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of Apache Kafka's own `UtilsTest.testMurmur2`.
    #[test]
    fn matches_kafkas_murmur2_test_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, expected) in cases {
            let hash = murmur2::murmur2(key, murmur2::KAFKA_SEED) as i32;
            assert_eq!(
                hash,
                expected,
                "murmur2({:?})",
                String::from_utf8_lossy(key)
            );
        }
    }

    #[test]
    fn partition_is_the_positive_hash_modulo_the_count() {
        // murmur2("21") = -973932308; toPositive keeps the low 31 bits: 1173551340.
        assert_eq!(partition_for(b"21", 6), 1_173_551_340 % 6);
        assert_eq!(partition_for(b"abc", 6), 479_470_107 % 6);
        for partitions in 1..=12 {
            let p = partition_for(b"b32ad0f1", partitions);
            assert!((0..partitions).contains(&p));
        }
    }
}
