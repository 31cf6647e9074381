//! The tokenizer for messages that mix Chinese, Russian and English in one
//! text. Runs of Han/kana/hangul characters go to jieba in search mode (so a
//! word is found inside a sentence that has no spaces, and a compound also by
//! its parts); every other run of letters and digits is one word, lower-cased
//! and stemmed with the Snowball stemmer of its script (Cyrillic: Russian,
//! Latin: English), so `доставки` finds `Доставка` and `refund` finds
//! `refunds`. Jieba alone would split Cyrillic into single letters, which is
//! why the runs are told apart first.

use jieba_rs::{Jieba, TokenizeMode};
use rust_stemmers::{Algorithm, Stemmer};
use std::sync::LazyLock;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The name the index registers the tokenizer under.
pub const MIXED: &str = "tgdesk_mixed";

/// Longest word kept, in bytes (longer runs are noise: hashes, base64).
const MAX_WORD_BYTES: usize = 64;

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);
static RUSSIAN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Russian));
static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// Loads jieba's dictionary now rather than in the first request.
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

/// Splits mixed-language text into index terms.
#[derive(Clone, Default)]
pub struct MixedTokenizer;

/// The tokens of one text, computed at once (messages are short).
pub struct MixedTokens {
    tokens: Vec<Token>,
    next: usize,
}

impl Tokenizer for MixedTokenizer {
    type TokenStream<'a> = MixedTokens;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MixedTokens {
        MixedTokens { tokens: tokens(text), next: 0 }
    }
}

impl TokenStream for MixedTokens {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// True for the scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // CJK extensions B and later
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// Returns the terms of `text` with their byte offsets and positions.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = text.char_indices().peekable();
    while let Some(&(start, c)) = rest.peek() {
        let kind: fn(char) -> bool = if is_cjk(c) {
            is_cjk
        } else if is_word_char(c) {
            is_word_char
        } else {
            rest.next();
            continue;
        };
        let mut end = start;
        while let Some(&(i, c)) = rest.peek().filter(|(_, c)| kind(*c)) {
            end = i + c.len_utf8();
            rest.next();
        }
        if is_cjk(c) {
            push_cjk(text, start, end, &mut out);
        } else {
            push_word(&text[start..end], start, end, &mut out);
        }
    }
    out
}

fn push_word(word: &str, start: usize, end: usize, out: &mut Vec<Token>) {
    if word.len() > MAX_WORD_BYTES {
        return;
    }
    let lower = word.to_lowercase().replace('ё', "е");
    let stemmer = if lower.chars().any(|c| matches!(c as u32, 0x0400..=0x04FF)) {
        Some(&*RUSSIAN)
    } else if lower.chars().any(|c| c.is_ascii_alphabetic()) {
        Some(&*ENGLISH)
    } else {
        None
    };
    let text = match stemmer {
        Some(s) => s.stem(&lower).into_owned(),
        None => lower,
    };
    out.push(Token { offset_from: start, offset_to: end, position: out.len(), text, position_length: 1 });
}

fn push_cjk(text: &str, start: usize, end: usize, out: &mut Vec<Token>) {
    let run = &text[start..end];
    // jieba counts in characters; the index wants bytes.
    let mut byte_at: Vec<usize> = run.char_indices().map(|(i, _)| start + i).collect();
    byte_at.push(end);
    for t in JIEBA.tokenize(run, TokenizeMode::Search, true) {
        out.push(Token {
            offset_from: byte_at[t.start],
            offset_to: byte_at[t.end],
            position: out.len(),
            text: t.word.to_owned(),
            position_length: 1,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        tokens(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn russian_and_english_words_are_lower_cased_and_stemmed() {
        assert_eq!(terms("Доставка задерживается"), terms("доставки ЗАДЕРЖИВАЕТСЯ"));
        assert_eq!(terms("Refunds"), ["refund"]);
        assert_eq!(terms("ещё"), terms("еще"));
    }

    #[test]
    fn chinese_is_split_into_words_and_offsets_point_at_them() {
        let text = "我想申请退款，订单号12345";
        let toks = tokens(text);
        let refund = toks.iter().find(|t| t.text == "退款").expect("退款 is a word of the sentence");
        assert_eq!(&text[refund.offset_from..refund.offset_to], "退款");
        assert!(toks.iter().any(|t| t.text == "12345"));
    }

    #[test]
    fn mixed_runs_keep_their_own_rules_and_positions_increase() {
        let toks = tokens("您好 the payment, оплата!");
        let words: Vec<&str> = toks.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(words, ["您好", "the", "payment", "оплат"]);
        assert!(toks.windows(2).all(|w| w[0].position < w[1].position));
    }

    #[test]
    fn noise_longer_than_a_word_is_dropped() {
        assert!(terms(&"x".repeat(MAX_WORD_BYTES + 1)).is_empty());
    }
}
