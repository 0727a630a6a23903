//! A register block's layout as data: each named field's offset and length. The maps
//! ([`crate::line_plc::map`], [`crate::gate_io::map`], [`crate::weighbridge`]) list their
//! blocks as [`Field`]s built from their own offset constants, so a layout is shown to
//! cover its block with no gap or overlap ([`layout_problems`]), and the register tables
//! in the simulators' README are checked against the code (`simulators/tests/it/
//! register_tables.rs`) rather than copied from it by hand.

/// One named field of a register block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Its name, as the map's constant is called (`PLC_HEARTBEAT`).
    pub name: &'static str,
    /// Offset of its first word from the block's base.
    pub offset: u16,
    /// Number of words.
    pub len: u16,
}

impl Field {
    /// A one-word field.
    pub const fn word(name: &'static str, offset: u16) -> Self {
        Self {
            name,
            offset,
            len: 1,
        }
    }

    /// A field of `len` words.
    pub const fn words(name: &'static str, offset: u16, len: u16) -> Self {
        Self { name, offset, len }
    }

    /// Its offsets as a document writes them: `6`, or `6..=29`.
    pub fn offsets(&self) -> String {
        if self.len == 1 {
            self.offset.to_string()
        } else {
            format!("{}..={}", self.offset, self.offset + self.len - 1)
        }
    }
}

/// Every way `fields` fails to cover `0..block_len` exactly, in order (empty when it does).
pub fn layout_problems(fields: &[Field], block_len: u16) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = 0u16;
    for f in fields {
        if f.len == 0 {
            out.push(format!("{} has no words", f.name));
        }
        if f.offset != next {
            out.push(format!(
                "{} starts at {}, expected {next}",
                f.name, f.offset
            ));
        }
        next = f.offset.saturating_add(f.len);
    }
    if next != block_len {
        out.push(format!(
            "the fields end at {next}, the block at {block_len}"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_must_tile_its_block() {
        let good = [Field::word("A", 0), Field::words("B", 1, 3)];
        assert!(layout_problems(&good, 4).is_empty());
        assert_eq!(good[1].offsets(), "1..=3");
        let gap = [Field::word("A", 0), Field::word("B", 2)];
        assert_eq!(layout_problems(&gap, 3), ["B starts at 2, expected 1"]);
        assert_eq!(
            layout_problems(&good, 5),
            ["the fields end at 4, the block at 5"]
        );
    }
}
