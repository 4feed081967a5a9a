//! Compile-fail cases of `cell!`: one mistake per file (one file has two),
//! grouped by the phase that reports them, or by the construct (layouts,
//! reductions, masks). The expected messages are in the `.stderr` files
//! beside them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/parse/*.rs");
    t.compile_fail("tests/ui/check/*.rs");
    t.compile_fail("tests/ui/layout/*.rs");
    t.compile_fail("tests/ui/reduce/*.rs");
    t.compile_fail("tests/ui/mask/*.rs");
}
