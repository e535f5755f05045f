"""Offline: the encoder against the vectors of docs/protocol.md section 2.4."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chorus  # noqa: E402

SEED = bytes(range(32))
PUB = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
V1 = ("86a17601a466726f6dc42003a107bff3ce10be1d70dd18e74bc09967e4d6309b"
      "a50d5f1ddc8664125531b8a56e6f6e636501a3666565cd03e8a464617461c40c"
      "68656c6c6f2063686f727573a3736967c440504dc1c88702bed23c3824d45688"
      "6099ebb65d46467df47718f78b5bbe41775d68636cc639693952c020a636f300"
      "29262edad06f8c0a038db6c1152a408d4d0d")
V2 = ("86a17601a466726f6dc42003a107bff3ce10be1d70dd18e74bc09967e4d6309b"
      "a50d5f1ddc8664125531b8a56e6f6e636500a366656500a464617461c400a373"
      "6967c440153252424930f8b52bda5d36f4c6865b18aa3ba517650d07cc981919"
      "572bb22413341a7fbac331d1d13d36948631b3fe17431be45cc1f53f014cdcd6"
      "c920d401")


class Vectors(unittest.TestCase):
    def test_key(self):
        self.assertEqual(chorus.Key(SEED).public.hex(), PUB)

    def test_vector1(self):
        tx = chorus.build_tx(SEED, 1, 1000, b"hello chorus")
        self.assertEqual(tx.encoding.hex(), V1)
        self.assertEqual(tx.id.hex(),
                         "933dcc8f5b512cece9ef16da1f090bf7edc6ee367c4222323428b5a9d2b9856d")
        self.assertEqual(tx.size, 146)

    def test_vector2(self):
        tx = chorus.build_tx(SEED, 0, 0, b"")
        self.assertEqual(tx.encoding.hex(), V2)
        self.assertEqual(tx.size, 132)
        self.assertEqual(tx.id.hex(),
                         "a55fccfb7c141fb627c610c481c7550e5dc208608871a5ca08c2f6a1d4842258")

    def test_vector3(self):
        tx = chorus.build_tx(SEED, 1 << 40, (1 << 64) - 1, bytes(300))
        self.assertEqual(tx.size, 449)
        self.assertIn(bytes.fromhex("cf0000010000000000"), tx.encoding)
        self.assertIn(bytes.fromhex("cfffffffffffffffff"), tx.encoding)
        self.assertIn(bytes.fromhex("c5012c"), tx.encoding)
        self.assertEqual(tx.id.hex(),
                         "ba400261da3dbdc797be29c306cb507b26008b06df4d50f84b1be2e16abfcc5b")
        self.assertEqual(tx.sig.hex(),
                         "efcfe9886570258422b5ff3d7ce701644ac0c4b486c2accaaf5bad317eff63eb"
                         "5b5dbc031800ec4bda8a34c5a3398758e7fb5c1fbaf9609b53a62597b5e41106")

    def test_limits(self):
        with self.assertRaises(ValueError):
            chorus.build_tx(SEED, 1 << 64, 0)
        with self.assertRaises(ValueError):
            chorus.build_tx(SEED, 0, 0, bytes(32513))
        chorus.build_tx(SEED, 0, 0, bytes(32512))


if __name__ == "__main__":
    unittest.main()
