//! Parsing: tokens to [`CellDecl`]. Each statement of the body is parsed on its
//! own, so one malformed statement does not hide the mistakes in the others.

use crate::ast::{
    AffineAst, BinOp, Binding, CellDecl, Expr, InitAst, Item, LayoutBlock, LayoutDecl,
    LayoutTensor, ShapeAst, Stmt, StmtKind,
};
use crate::ctxt::Ctxt;
use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Attribute, Ident, Token};

mod kw {
    syn::custom_keyword!(cell);
    syn::custom_keyword!(dims);
    syn::custom_keyword!(input);
    syn::custom_keyword!(state);
    syn::custom_keyword!(param);
    syn::custom_keyword!(output);
    syn::custom_keyword!(activation);
    syn::custom_keyword!(layout);
    syn::custom_keyword!(mask);
}

/// Parses a whole `cell!` invocation. Errors in statements are collected in
/// `cx`; an error in the header stops the parse.
pub fn parse_cell(tokens: TokenStream, cx: &mut Ctxt) -> Option<CellDecl> {
    let header =
        |input: ParseStream| -> syn::Result<(Vec<String>, syn::Visibility, Ident, TokenStream)> {
            let attrs = Attribute::parse_outer(input)?;
            let docs = doc_lines(&attrs)?;
            let vis: syn::Visibility = input.parse()?;
            input.parse::<kw::cell>()?;
            let name: Ident = input.parse()?;
            let body;
            syn::braced!(body in input);
            let tokens: TokenStream = body.parse()?;
            if !input.is_empty() {
                return Err(input.error("expected one `cell Name { ... }` declaration per `cell!`"));
            }
            Ok((docs, vis, name, tokens))
        };
    match header.parse2(tokens) {
        Ok((docs, vis, name, body)) => {
            let (items, incomplete) = parse_body(body, cx);
            Some(CellDecl {
                docs,
                vis,
                name,
                items,
                incomplete,
            })
        }
        Err(e) => {
            cx.push(e);
            None
        }
    }
}

/// Names the generated code uses unqualified: its scalar type parameter
/// `T`, the primitive types and the prelude's `Option` and `Result` with
/// their variants. A cell given one of them would shadow it in its module.
const TAKEN_NAMES: [&str; 24] = [
    "T", "bool", "char", "str", "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8",
    "u16", "u32", "u64", "u128", "usize", "Option", "Some", "None", "Result", "Ok", "Err",
];

/// Whether `name` may name a cell; if not, an error at it.
pub fn check_cell_name(name: &Ident, cx: &mut Ctxt) -> bool {
    let text = name.to_string();
    if !TAKEN_NAMES.contains(&text.as_str()) {
        return true;
    }
    let what = if text == "T" {
        "the generated code's scalar type parameter"
    } else {
        "a type or value that the generated code uses"
    };
    cx.error(
        name.span(),
        format!("a cell cannot be named `{text}`: that is {what}; choose another name"),
    );
    false
}

/// Splits the body at top-level `;` and parses each statement separately.
/// The items of a cell's body, and whether one that is not a layout failed
/// to parse.
fn parse_body(body: TokenStream, cx: &mut Ctxt) -> (Vec<Item>, bool) {
    let mut items = Vec::new();
    let mut chunk = Vec::new();
    let mut failed = false;
    for tt in body {
        if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ';') {
            failed |= !parse_chunk(std::mem::take(&mut chunk), &mut items, cx);
        } else {
            // A layout ends at its braces: `layout torch { ... }` needs no `;`.
            let closes_layout = is_brace(&tt) && starts_layout(&chunk);
            chunk.push(tt);
            if closes_layout {
                failed |= !parse_chunk(std::mem::take(&mut chunk), &mut items, cx);
            }
        }
    }
    if let Some(last) = chunk.last() {
        let span = last.span();
        failed |= !parse_chunk(chunk, &mut items, cx);
        cx.error(span, "expected `;` after this statement");
    }
    (items, failed)
}

fn is_brace(tt: &TokenTree) -> bool {
    matches!(tt, TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace)
}

/// Whether a statement's tokens so far begin a layout: `layout name`.
fn starts_layout(chunk: &[TokenTree]) -> bool {
    let mut docs = 0;
    // Skip doc comments: `#` followed by a bracket group.
    while matches!(chunk.get(docs), Some(TokenTree::Punct(p)) if p.as_char() == '#') {
        docs += 2;
    }
    matches!(chunk.get(docs), Some(TokenTree::Ident(id)) if id == "layout")
        && matches!(chunk.get(docs + 1), Some(TokenTree::Ident(_)))
        && chunk.len() == docs + 2
}

/// Parses one statement into `items`; `false` when it is not a layout and
/// did not parse (its error is recorded). A layout declares no names, so
/// its errors leave the rest to be checked.
fn parse_chunk(chunk: Vec<TokenTree>, items: &mut Vec<Item>, cx: &mut Ctxt) -> bool {
    if chunk.is_empty() {
        return true;
    }
    if starts_layout(&chunk[..chunk.len().saturating_sub(1)]) && chunk.last().is_some_and(is_brace)
    {
        if let Some(layout) = parse_layout(chunk, cx) {
            items.push(Item::Layout(layout));
        }
        return true;
    }
    let last = chunk.last().map(TokenTree::span);
    match parse_item.parse2(chunk.into_iter().collect()) {
        Ok(item) => {
            items.push(item);
            true
        }
        Err(e) => {
            // A statement cut short ends where its tokens end: the error
            // goes on its last token, not over the whole macro call.
            match last {
                Some(span) if e.to_string().starts_with("unexpected end of input") => {
                    cx.error(span, e)
                }
                _ => cx.push(e),
            }
            false
        }
    }
}

/// The words that begin a declaration even when `=` follows them (`mask`
/// does only before a name, so a state may be called `mask`).
const STATEMENT_WORDS: &[&str] = &[
    "dims",
    "input",
    "state",
    "param",
    "activation",
    "output",
    "layout",
];

fn parse_item(input: ParseStream) -> syn::Result<Item> {
    let attrs = Attribute::parse_outer(input)?;
    let docs = doc_lines(&attrs)?;
    // `dims = …`: an update of a state named like a declaration keyword,
    // which the keyword's declaration would take over.
    if input.peek(Ident::peek_any) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
        let fork = input.fork();
        let word = Ident::parse_any(&fork)?;
        if STATEMENT_WORDS.contains(&word.to_string().as_str()) {
            return Err(syn::Error::new(
                word.span(),
                format!(
                    "`{word} = …` cannot update a state: `{word}` begins a declaration; give the state another name"
                ),
            ));
        }
    }
    let look = input.lookahead1();
    let item = if look.peek(kw::dims) {
        input.parse::<kw::dims>()?;
        let names = input.parse_terminated(Ident::parse, Token![,])?;
        Item::Dims(names.into_iter().collect())
    } else if look.peek(kw::input) {
        input.parse::<kw::input>()?;
        Item::Input(parse_bindings(input)?)
    } else if look.peek(kw::state) {
        input.parse::<kw::state>()?;
        Item::State(parse_bindings(input)?)
    } else if look.peek(kw::param) {
        input.parse::<kw::param>()?;
        Item::Param(parse_bindings(input)?)
    } else if look.peek(kw::mask) && input.peek2(Ident) {
        input.parse::<kw::mask>()?;
        Item::Mask(parse_bindings(input)?)
    } else if look.peek(kw::activation) {
        input.parse::<kw::activation>()?;
        let pairs = input.parse_terminated(
            |input: ParseStream| {
                let name: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                let default: Ident = input.parse()?;
                Ok((name, default))
            },
            Token![,],
        )?;
        Item::Activation(pairs.into_iter().collect())
    } else if look.peek(Token![let]) {
        input.parse::<Token![let]>()?;
        Item::Stmt(parse_stmt(input, StmtKind::Let, docs)?)
    } else if look.peek(kw::output) {
        input.parse::<kw::output>()?;
        Item::Stmt(parse_stmt(input, StmtKind::Output, docs)?)
    } else if look.peek(kw::layout) {
        let word: kw::layout = input.parse()?;
        return Err(syn::Error::new(
            word.span,
            "a layout is `layout framework { tensor = block; ... }`",
        ));
    } else if look.peek(Ident) && input.peek2(Ident) {
        let word: Ident = input.parse()?;
        let msg = format!(
            "unknown declaration `{word}`; a statement starts with `dims`, `input`, `state`, `param`, `mask`, `activation`, `let`, `output`, `layout` or a state's name"
        );
        return Err(syn::Error::new(word.span(), msg));
    } else if look.peek(Ident) {
        Item::Stmt(parse_stmt(input, StmtKind::Assign, docs)?)
    } else {
        return Err(look.error());
    };
    if !input.is_empty() {
        return Err(input.error("expected `;`"));
    }
    Ok(item)
}

fn parse_stmt(input: ParseStream, kind: StmtKind, docs: Vec<String>) -> syn::Result<Stmt> {
    let name: Ident = input.parse()?;
    input.parse::<Token![=]>()?;
    let expr = parse_expr(input, 0)?;
    Ok(Stmt {
        docs,
        kind,
        name,
        expr,
    })
}

fn parse_bindings(input: ParseStream) -> syn::Result<Vec<Binding>> {
    let mut out = Vec::new();
    loop {
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let shape = parse_shape(input)?;
        let init = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(parse_init(input)?)
        } else {
            None
        };
        out.push(Binding { name, shape, init });
        if input.is_empty() {
            return Ok(out);
        }
        input.parse::<Token![,]>()?;
    }
}

fn parse_init(input: ParseStream) -> syn::Result<InitAst> {
    let name: Ident = input.parse()?;
    let mut args = Vec::new();
    if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        let list = content.parse_terminated(parse_number, Token![,])?;
        args = list.into_iter().collect();
    }
    Ok(InitAst { name, args })
}

/// A numeric literal, possibly negative.
fn parse_number(input: ParseStream) -> syn::Result<f64> {
    let negative = input.peek(Token![-]);
    if negative {
        input.parse::<Token![-]>()?;
    }
    let value = if input.peek(syn::LitInt) {
        input.parse::<syn::LitInt>()?.base10_parse::<i64>()? as f64
    } else {
        input.parse::<syn::LitFloat>()?.base10_parse::<f64>()?
    };
    Ok(if negative { -value } else { value })
}

fn parse_shape(input: ParseStream) -> syn::Result<ShapeAst> {
    let content;
    let bracket = syn::bracketed!(content in input);
    let span = bracket.span.join();
    let axes = content.parse_terminated(parse_affine, Token![,])?;
    if axes.is_empty() || axes.len() > 2 {
        return Err(syn::Error::new(
            span,
            "a shape is `[len]` for a vector or `[rows, cols]` for a matrix",
        ));
    }
    Ok(ShapeAst {
        axes: axes.into_iter().collect(),
        span,
    })
}

fn parse_affine(input: ParseStream) -> syn::Result<AffineAst> {
    let span = input.span();
    let mut terms = Vec::new();
    let mut sign = 1;
    loop {
        let (coeff, dim) = parse_affine_term(input)?;
        terms.push((sign * coeff, dim));
        if input.peek(Token![+]) {
            input.parse::<Token![+]>()?;
            sign = 1;
        } else if input.peek(Token![-]) {
            input.parse::<Token![-]>()?;
            sign = -1;
        } else {
            return Ok(AffineAst { terms, span });
        }
    }
}

/// The largest number a shape may contain, so that shape arithmetic cannot overflow.
const MAX_SHAPE_NUMBER: i64 = 1 << 24;

fn shape_number(lit: &syn::LitInt) -> syn::Result<i64> {
    let v: i64 = lit.base10_parse()?;
    if v > MAX_SHAPE_NUMBER {
        return Err(syn::Error::new(
            lit.span(),
            format!("a number in a shape must be at most {MAX_SHAPE_NUMBER}"),
        ));
    }
    Ok(v)
}

fn parse_affine_term(input: ParseStream) -> syn::Result<(i64, Option<Ident>)> {
    if input.peek(syn::LitInt) {
        let lit: syn::LitInt = input.parse()?;
        let value = shape_number(&lit)?;
        if input.peek(Token![*]) {
            input.parse::<Token![*]>()?;
            let dim: Ident = input.parse()?;
            return Ok((value, Some(dim)));
        }
        return Ok((value, None));
    }
    let look = input.lookahead1();
    if !look.peek(Ident) {
        return Err(look.error());
    }
    let dim: Ident = input.parse()?;
    if input.peek(Token![*]) {
        input.parse::<Token![*]>()?;
        let lit: syn::LitInt = input.parse()?;
        return Ok((shape_number(&lit)?, Some(dim)));
    }
    Ok((1, Some(dim)))
}

/// `layout framework { tensor = block; ... }`; each tensor is parsed on its
/// own, like the statements of the body.
fn parse_layout(chunk: Vec<TokenTree>, cx: &mut Ctxt) -> Option<LayoutDecl> {
    let header = |input: ParseStream| -> syn::Result<(Vec<Attribute>, Ident, TokenStream)> {
        let attrs = Attribute::parse_outer(input)?;
        input.parse::<kw::layout>()?;
        let framework: Ident = input.parse()?;
        let body;
        syn::braced!(body in input);
        Ok((attrs, framework, body.parse()?))
    };
    let (attrs, framework, body) = match header.parse2(chunk.into_iter().collect()) {
        Ok(parts) => parts,
        Err(e) => {
            cx.push(e);
            return None;
        }
    };
    // Doc comments are allowed (and kept out of the generated code); any
    // other attribute, `#[cfg(..)]` among them, is an error rather than
    // silently ignored, and the tensors are still checked.
    if let Err(e) = doc_lines(&attrs) {
        cx.push(e);
    }
    let mut tensors = Vec::new();
    let mut part: Vec<TokenTree> = Vec::new();
    let mut parse_part = |part: Vec<TokenTree>, cx: &mut Ctxt| {
        if part.is_empty() {
            return;
        }
        match parse_layout_tensor.parse2(part.into_iter().collect()) {
            Ok(t) => tensors.push(t),
            Err(e) => cx.push(e),
        }
    };
    for tt in body {
        if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ';') {
            parse_part(std::mem::take(&mut part), cx);
        } else {
            part.push(tt);
        }
    }
    if let Some(last) = part.last() {
        let span = last.span();
        parse_part(part, cx);
        cx.error(span, "expected `;` after this tensor");
    }
    Some(LayoutDecl { framework, tensors })
}

fn parse_layout_tensor(input: ParseStream) -> syn::Result<LayoutTensor> {
    doc_lines(&Attribute::parse_outer(input)?)?;
    let name: Ident = input.parse()?;
    input.parse::<Token![=]>()?;
    let block = parse_block(input)?;
    if !input.is_empty() {
        return Err(input.error(
            "expected `;`; a tensor is a parameter, a stack `[a, b]` or a transpose `block.T`",
        ));
    }
    Ok(LayoutTensor { name, block })
}

fn parse_block(input: ParseStream) -> syn::Result<LayoutBlock> {
    parse_block_at(input, 0).map(|(b, _)| b)
}

/// A layout block and the depth of its tree, parsed `level` calls deep.
fn parse_block_at(input: ParseStream, level: usize) -> syn::Result<(LayoutBlock, usize)> {
    if level > MAX_DEPTH {
        return Err(too_deep(input.span()));
    }
    let (mut block, mut depth) = if input.peek(syn::token::Bracket) {
        let content;
        let bracket = syn::bracketed!(content in input);
        let mut items = Vec::new();
        let mut depth = 0;
        while !content.is_empty() {
            let (item, d) = parse_block_at(&content, level + 1)?;
            items.push(item);
            depth = depth.max(d);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        (LayoutBlock::Stack(items, bracket.span.join()), depth + 1)
    } else {
        let look = input.lookahead1();
        if !look.peek(Ident) {
            return Err(look.error());
        }
        (LayoutBlock::Param(input.parse()?), 1)
    };
    while input.peek(Token![.]) {
        input.parse::<Token![.]>()?;
        let t: Ident = input.parse()?;
        if t != "T" {
            return Err(syn::Error::new(
                t.span(),
                format!("expected `T` (the transpose), found `{t}`"),
            ));
        }
        depth += 1;
        if depth > MAX_DEPTH {
            return Err(too_deep(t.span()));
        }
        block = LayoutBlock::Transpose(Box::new(block), t.span());
    }
    Ok((block, depth))
}

/// How deep an expression or a layout block may nest: the compiler's
/// phases recurse over the tree, and a bound keeps them, and rustc, far
/// from the end of the stack.
pub const MAX_DEPTH: usize = 256;

fn too_deep(span: proc_macro2::Span) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "this expression nests more than {MAX_DEPTH} levels deep; name parts of it with `let`"
        ),
    )
}

/// Precedence climbing over `+ - * / @`; every node keeps its span.
pub fn parse_expr(input: ParseStream, min_prec: u8) -> syn::Result<Expr> {
    parse_expr_at(input, min_prec, 0).map(|(e, _)| e)
}

/// An expression and the depth of its tree, parsed `level` calls deep.
fn parse_expr_at(input: ParseStream, min_prec: u8, level: usize) -> syn::Result<(Expr, usize)> {
    if level > MAX_DEPTH {
        return Err(too_deep(input.span()));
    }
    let (mut lhs, mut depth) = parse_unary(input, level)?;
    while let Some((op, span)) = peek_op(input) {
        if op.precedence() < min_prec {
            break;
        }
        skip_op(input, op)?;
        let (rhs, rhs_depth) = parse_expr_at(input, op.precedence() + 1, level + 1)?;
        depth = depth.max(rhs_depth) + 1;
        if depth > MAX_DEPTH {
            return Err(too_deep(span));
        }
        lhs = Expr::Binary(op, span, Box::new(lhs), Box::new(rhs));
    }
    Ok((lhs, depth))
}

fn peek_op(input: ParseStream) -> Option<(BinOp, proc_macro2::Span)> {
    let op = if input.peek(Token![+]) {
        BinOp::Add
    } else if input.peek(Token![-]) {
        BinOp::Sub
    } else if input.peek(Token![*]) {
        BinOp::Mul
    } else if input.peek(Token![/]) {
        BinOp::Div
    } else if input.peek(Token![@]) {
        BinOp::MatMul
    } else {
        return None;
    };
    Some((op, input.span()))
}

fn skip_op(input: ParseStream, op: BinOp) -> syn::Result<()> {
    match op {
        BinOp::Add => input.parse::<Token![+]>().map(drop),
        BinOp::Sub => input.parse::<Token![-]>().map(drop),
        BinOp::Mul => input.parse::<Token![*]>().map(drop),
        BinOp::Div => input.parse::<Token![/]>().map(drop),
        BinOp::MatMul => input.parse::<Token![@]>().map(drop),
    }
}

fn parse_unary(input: ParseStream, level: usize) -> syn::Result<(Expr, usize)> {
    if input.peek(Token![-]) {
        let minus: Token![-] = input.parse()?;
        let (operand, depth) = parse_expr_at(input, BinOp::MatMul.precedence(), level + 1)?;
        if depth + 1 > MAX_DEPTH {
            return Err(too_deep(minus.span));
        }
        return Ok((Expr::Neg(Box::new(operand), minus.span), depth + 1));
    }
    parse_primary(input, level)
}

fn parse_primary(input: ParseStream, level: usize) -> syn::Result<(Expr, usize)> {
    if input.peek(syn::LitFloat) {
        let lit: syn::LitFloat = input.parse()?;
        return Ok((Expr::Num(lit.base10_parse()?, lit.span()), 1));
    }
    if input.peek(syn::LitInt) {
        let lit: syn::LitInt = input.parse()?;
        return Ok((Expr::Num(lit.base10_parse::<i64>()? as f64, lit.span()), 1));
    }
    if input.peek(Ident) {
        let name: Ident = input.parse()?;
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let (args, depth) = parse_list(&content, level + 1)?;
            if depth + 1 > MAX_DEPTH {
                return Err(too_deep(name.span()));
            }
            return Ok((Expr::Call(name, args), depth + 1));
        }
        return Ok((Expr::Name(name), 1));
    }
    if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        let inner = parse_expr_at(&content, 0, level + 1)?;
        if !content.is_empty() {
            return Err(content.error("expected `)`"));
        }
        return Ok(inner);
    }
    if input.peek(syn::token::Bracket) {
        let content;
        let bracket = syn::bracketed!(content in input);
        let (items, depth) = parse_list(&content, level + 1)?;
        if depth + 1 > MAX_DEPTH {
            return Err(too_deep(bracket.span.join()));
        }
        return Ok((Expr::Stack(items, bracket.span.join()), depth + 1));
    }
    Err(input.error("expected a name, a number, a function call, `( ... )` or a stack `[a, b]`"))
}

/// Comma-separated expressions and the depth of the deepest.
fn parse_list(input: ParseStream, level: usize) -> syn::Result<(Vec<Expr>, usize)> {
    let mut items = Vec::new();
    let mut depth = 0;
    while !input.is_empty() {
        let (item, d) = parse_expr_at(input, 0, level)?;
        items.push(item);
        depth = depth.max(d);
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok((items, depth))
}

fn doc_lines(attrs: &[Attribute]) -> syn::Result<Vec<String>> {
    let mut docs = Vec::new();
    for attr in attrs {
        let syn::Meta::NameValue(nv) = &attr.meta else {
            return Err(syn::Error::new_spanned(
                attr,
                "only doc comments are allowed here",
            ));
        };
        if !nv.path.is_ident("doc") {
            return Err(syn::Error::new_spanned(
                attr,
                "only doc comments are allowed here",
            ));
        }
        match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => docs.push(s.value()),
            other => return Err(syn::Error::new_spanned(other, "expected a doc string")),
        }
    }
    Ok(docs)
}
