//! AES-128 decryption with replaceable round keys, for KMS protocol v5 and v6.
//!
//! KMS v6 encrypts with AES-128-CBC whose key schedule is altered after expansion: byte 0 of
//! round keys 4, 6 and 8 is XORed with 0x73, 0x09 and 0xE4 (shared/reference/kms.md §5, from
//! vlmcsd `crypto.c` and py-kms `pykms_Aes.py`). No AES crate lets a caller change round keys,
//! so this module implements the FIPS-197 inverse cipher itself, table-free and byte-oriented.
//! It is written for clarity, not speed or constant time: it only decrypts publicly keyed KMS
//! messages, a few hundred bytes per activation. v5 uses the same code with the standard
//! schedule, and tests check that schedule against the `aes` crate.

/// Bytes in an AES block.
pub const BLOCK: usize = 16;

/// Multiplication in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1.
const fn gmul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let high = a & 0x80;
        a <<= 1;
        if high != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

/// The S-box and its inverse, built from their definition (FIPS-197 §5.1.1): the
/// multiplicative inverse in GF(2^8) followed by the affine transform.
const fn sboxes() -> ([u8; 256], [u8; 256]) {
    let mut sbox = [0u8; 256];
    let mut inverse = [0u8; 256];
    let mut x = 0usize;
    while x < 256 {
        let mut inv = 0u8;
        if x != 0 {
            let mut c = 1usize;
            while c < 256 {
                if gmul(x as u8, c as u8) == 1 {
                    inv = c as u8;
                    break;
                }
                c += 1;
            }
        }
        let s = inv
            ^ inv.rotate_left(1)
            ^ inv.rotate_left(2)
            ^ inv.rotate_left(3)
            ^ inv.rotate_left(4)
            ^ 0x63;
        sbox[x] = s;
        inverse[s as usize] = x as u8;
        x += 1;
    }
    (sbox, inverse)
}

const SBOXES: ([u8; 256], [u8; 256]) = sboxes();
const SBOX: [u8; 256] = SBOXES.0;
const INV_SBOX: [u8; 256] = SBOXES.1;

/// Round constants of the AES-128 key expansion.
const RCON: [u8; 10] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];

/// The eleven round keys of AES-128, in the byte order of FIPS-197's state.
#[derive(Clone)]
pub struct RoundKeys(pub [[u8; BLOCK]; 11]);

impl RoundKeys {
    /// The standard AES-128 key expansion (FIPS-197 §5.2).
    pub fn expand(key: &[u8; BLOCK]) -> Self {
        let mut w = [[0u8; 4]; 44];
        for (i, word) in w.iter_mut().take(4).enumerate() {
            word.copy_from_slice(&key[4 * i..4 * i + 4]);
        }
        for i in 4..44 {
            let mut t = w[i - 1];
            if i % 4 == 0 {
                t = [
                    SBOX[usize::from(t[1])] ^ RCON[i / 4 - 1],
                    SBOX[usize::from(t[2])],
                    SBOX[usize::from(t[3])],
                    SBOX[usize::from(t[0])],
                ];
            }
            for b in 0..4 {
                w[i][b] = w[i - 4][b] ^ t[b];
            }
        }
        let mut keys = [[0u8; BLOCK]; 11];
        for (r, key) in keys.iter_mut().enumerate() {
            for c in 0..4 {
                key[4 * c..4 * c + 4].copy_from_slice(&w[4 * r + c]);
            }
        }
        RoundKeys(keys)
    }

    /// Decrypts one block in place with these round keys (FIPS-197 §5.3, the inverse cipher).
    pub fn decrypt_block(&self, block: &mut [u8; BLOCK]) {
        add_round_key(block, &self.0[10]);
        for round in (1..10).rev() {
            inv_shift_rows(block);
            inv_sub_bytes(block);
            add_round_key(block, &self.0[round]);
            inv_mix_columns(block);
        }
        inv_shift_rows(block);
        inv_sub_bytes(block);
        add_round_key(block, &self.0[0]);
    }

    /// Decrypts whole blocks of `data` in CBC mode with `iv`, in place. Trailing bytes short of
    /// a block are left alone; callers check lengths first.
    pub fn decrypt_cbc(&self, iv: &[u8; BLOCK], data: &mut [u8]) {
        let mut previous = *iv;
        for chunk in data.chunks_exact_mut(BLOCK) {
            let mut block = [0u8; BLOCK];
            block.copy_from_slice(chunk);
            let cipher = block;
            self.decrypt_block(&mut block);
            for (out, (p, c)) in chunk.iter_mut().zip(block.iter().zip(previous.iter())) {
                *out = p ^ c;
            }
            previous = cipher;
        }
    }
}

fn add_round_key(block: &mut [u8; BLOCK], key: &[u8; BLOCK]) {
    for (b, k) in block.iter_mut().zip(key) {
        *b ^= k;
    }
}

fn inv_sub_bytes(block: &mut [u8; BLOCK]) {
    for b in block.iter_mut() {
        *b = INV_SBOX[usize::from(*b)];
    }
}

/// Row r of the column-major state moves r columns to the right.
fn inv_shift_rows(block: &mut [u8; BLOCK]) {
    let old = *block;
    for r in 1..4 {
        for c in 0..4 {
            block[r + 4 * ((c + r) % 4)] = old[r + 4 * c];
        }
    }
}

fn inv_mix_columns(block: &mut [u8; BLOCK]) {
    for c in 0..4 {
        let a = [
            block[4 * c],
            block[4 * c + 1],
            block[4 * c + 2],
            block[4 * c + 3],
        ];
        for r in 0..4 {
            block[4 * c + r] = gmul(a[r], 14)
                ^ gmul(a[(r + 1) % 4], 11)
                ^ gmul(a[(r + 2) % 4], 13)
                ^ gmul(a[(r + 3) % 4], 9);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::Aes128;
    use aes::cipher::{BlockCipherEncrypt, KeyInit};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn sbox_matches_fips_197() {
        // FIPS-197 Figure 7: S(0x00) = 0x63, S(0x53) = 0xed, S(0xff) = 0x16.
        assert_eq!((SBOX[0x00], SBOX[0x53], SBOX[0xff]), (0x63, 0xed, 0x16));
        assert!((0..256).all(|x| usize::from(INV_SBOX[usize::from(SBOX[x])]) == x));
    }

    #[test]
    fn decrypts_the_fips_197_example() {
        // FIPS-197 Appendix C.1.
        let key: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let mut block: [u8; 16] = hex("69c4e0d86a7b0430d8cdb78070b4c55a").try_into().unwrap();
        RoundKeys::expand(&key).decrypt_block(&mut block);
        assert_eq!(block.to_vec(), hex("00112233445566778899aabbccddeeff"));
    }

    #[test]
    fn inverts_the_aes_crate_for_many_keys_and_blocks() {
        for seed in 0u8..32 {
            let key: [u8; 16] = std::array::from_fn(|i| seed.wrapping_mul(31) ^ (i as u8 * 7));
            let plain: [u8; 16] = std::array::from_fn(|i| seed ^ (i as u8).wrapping_mul(13));
            let mut block = plain.into();
            Aes128::new(&key.into()).encrypt_block(&mut block);
            let mut ours: [u8; 16] = block.into();
            RoundKeys::expand(&key).decrypt_block(&mut ours);
            assert_eq!(ours, plain, "seed {seed}");
        }
    }

    #[test]
    fn cbc_chains_blocks_and_leaves_a_partial_tail() {
        let key = [7u8; 16];
        let iv = [9u8; 16];
        let plain: Vec<u8> = (0u8..32).collect();
        let cipher = Aes128::new(&key.into());
        let mut data = Vec::new();
        let mut previous = iv;
        for chunk in plain.chunks(16) {
            let mut block: [u8; 16] = std::array::from_fn(|i| chunk[i] ^ previous[i]);
            let mut b = block.into();
            cipher.encrypt_block(&mut b);
            block = b.into();
            data.extend_from_slice(&block);
            previous = block;
        }
        data.extend_from_slice(&[1, 2, 3]);
        RoundKeys::expand(&key).decrypt_cbc(&iv, &mut data);
        assert_eq!(&data[..32], plain.as_slice());
        assert_eq!(&data[32..], &[1, 2, 3]);
    }
}
