//! Unit tests of the renderer against AWS's documented examples and the chosen semantics.

use super::*;

fn ok(template: &str, input: &str) -> String {
    match render_str(template, input, &NoPresign) {
        Ok(html) => html,
        Err(errors) => panic!("render failed: {errors:?}"),
    }
}

fn err(template: &str, input: &str) -> RenderingError {
    match render_str(template, input, &NoPresign) {
        Ok(html) => panic!("render succeeded: {html}"),
        Err(mut errors) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            errors.remove(0)
        }
    }
}

#[test]
fn aws_documented_filter_examples_render_as_documented() {
    let template = concat!(
        "auto-escape: {{ \"Have you read 'James & the Giant Peach'?\" }}\n",
        "explicit escape: {{ \"Have you read 'James & the Giant Peach'?\" | escape }}\n",
        "explicit escape_once: {{ \"Have you read 'James &amp; the Giant Peach'?\" | escape_once }}\n",
        "skip_autoescape: {{ \"Have you read 'James & the Giant Peach'?\" | skip_autoescape }}\n",
    );
    assert_eq!(
        ok(template, "{}"),
        concat!(
            "auto-escape: Have you read &#39;James &amp; the Giant Peach&#39;?\n",
            "explicit escape: Have you read &#39;James &amp; the Giant Peach&#39;?\n",
            "explicit escape_once: Have you read &#39;James &amp; the Giant Peach&#39;?\n",
            "skip_autoescape: Have you read 'James & the Giant Peach'?\n",
        )
    );
}
