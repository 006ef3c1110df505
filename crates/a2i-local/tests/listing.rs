//! ListHumanLoops: pagination over more than 100 loops in both orders, time filters in
//! every ISO-8601 form (including date-only), tokens bound to their query.

mod common;

use std::time::Duration;

use aws_sdk_sagemakera2iruntime::error::ProvideErrorMetadata;
use aws_sdk_sagemakera2iruntime::primitives::DateTime;
use aws_sdk_sagemakera2iruntime::types::SortOrder;
use chrono::{SecondsFormat, Utc};
use common::{raw, start, start_loop, FLOW};
use hyper::Method;

async fn all_names(
    a2i: &aws_sdk_sagemakera2iruntime::Client,
    order: SortOrder,
    page_size: i32,
) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut pages = 0;
    let mut stream = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .sort_order(order)
        .max_results(page_size)
        .into_paginator()
        .send();
    while let Some(page) = stream.next().await {
        let page = page.unwrap();
        pages += 1;
        assert!(page.human_loop_summaries().len() <= page_size as usize);
        names.extend(
            page.human_loop_summaries()
                .iter()
                .map(|s| s.human_loop_name().unwrap_or_default().to_owned()),
        );
    }
    (names, pages)
}

#[tokio::test]
async fn pagination_over_150_loops_sees_each_once_in_both_orders() {
    let local = start().await;
    let a2i = local.a2i();
    let created: Vec<String> = (0..150).map(|i| format!("loop-{i:03}")).collect();
    for name in &created {
        start_loop(&a2i, name, serde_json::json!({})).await;
    }
    // Loops of another flow definition never show up.
    a2i.start_human_loop()
        .human_loop_name("other-flow")
        .flow_definition_arn("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/other")
        .human_loop_input(
            aws_sdk_sagemakera2iruntime::types::HumanLoopInput::builder()
                .input_content("{}")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let (ascending, pages) = all_names(&a2i, SortOrder::Ascending, 7).await;
    assert_eq!(ascending, created);
    assert_eq!(pages, 22);

    let (descending, _) = all_names(&a2i, SortOrder::Descending, 13).await;
    let mut reversed = created.clone();
    reversed.reverse();
    assert_eq!(descending, reversed);

    let (full_pages, pages) = all_names(&a2i, SortOrder::Ascending, 100).await;
    assert_eq!(full_pages, created);
    assert_eq!(pages, 2);
}

#[tokio::test]
async fn default_order_is_descending_and_default_page_is_100() {
    let local = start().await;
    let a2i = local.a2i();
    for i in 0..101 {
        start_loop(&a2i, &format!("l{i}"), serde_json::json!({})).await;
    }
    let page = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .send()
        .await
        .unwrap();
    assert_eq!(page.human_loop_summaries().len(), 100);
    assert_eq!(
        page.human_loop_summaries()[0].human_loop_name(),
        Some("l100")
    );
    assert!(page.next_token().is_some());
}

#[tokio::test]
async fn pages_neither_skip_nor_repeat_when_loops_are_deleted_between_them() {
    let local = start().await;
    let a2i = local.a2i();
    for i in 0..10 {
        start_loop(&a2i, &format!("p{i}"), serde_json::json!({})).await;
    }
    let first = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .sort_order(SortOrder::Ascending)
        .max_results(4)
        .send()
        .await
        .unwrap();
    let seen: Vec<&str> = first
        .human_loop_summaries()
        .iter()
        .filter_map(|s| s.human_loop_name())
        .collect();
    assert_eq!(seen, ["p0", "p1", "p2", "p3"]);
    // Delete one already seen and one not yet seen.
    for name in ["p1", "p5"] {
        a2i.stop_human_loop()
            .human_loop_name(name)
            .send()
            .await
            .unwrap();
        a2i.delete_human_loop()
            .human_loop_name(name)
            .send()
            .await
            .unwrap();
    }
    let rest = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .sort_order(SortOrder::Ascending)
        .max_results(100)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let rest: Vec<&str> = rest
        .human_loop_summaries()
        .iter()
        .filter_map(|s| s.human_loop_name())
        .collect();
    assert_eq!(rest, ["p4", "p6", "p7", "p8", "p9"]);
}

#[tokio::test]
async fn a_token_is_refused_with_a_different_query() {
    let local = start().await;
    let a2i = local.a2i();
    for i in 0..3 {
        start_loop(&a2i, &format!("t{i}"), serde_json::json!({})).await;
    }
    let page = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .sort_order(SortOrder::Ascending)
        .max_results(1)
        .send()
        .await
        .unwrap();
    let token = page.next_token().unwrap();
    let err = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .sort_order(SortOrder::Descending)
        .next_token(token)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    assert!(err.message().unwrap().contains("'nextToken'"));
    let err = a2i
        .list_human_loops()
        .flow_definition_arn("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/other")
        .sort_order(SortOrder::Ascending)
        .next_token(token)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
}

fn names_of(body: &serde_json::Value) -> Vec<String> {
    body["HumanLoopSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["HumanLoopName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn time_filters_work_in_every_iso8601_form() {
    let local = start().await;
    let a2i = local.a2i();
    start_loop(&a2i, "early", serde_json::json!({})).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let cut = Utc::now();
    tokio::time::sleep(Duration::from_millis(30)).await;
    start_loop(&a2i, "late", serde_json::json!({})).await;

    // Through the SDK (it sends `2020-02-24T00:00:00.123Z`).
    let cut_sdk = DateTime::from_millis(cut.timestamp_millis());
    let after = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .creation_time_after(cut_sdk)
        .send()
        .await
        .unwrap();
    assert_eq!(after.human_loop_summaries().len(), 1);
    assert_eq!(
        after.human_loop_summaries()[0].human_loop_name(),
        Some("late")
    );
    let before = a2i
        .list_human_loops()
        .flow_definition_arn(FLOW)
        .creation_time_before(cut_sdk)
        .send()
        .await
        .unwrap();
    assert_eq!(
        before.human_loop_summaries()[0].human_loop_name(),
        Some("early")
    );
    assert_eq!(before.human_loop_summaries().len(), 1);

    // Raw forms: fractional seconds, an offset, no colon in the offset.
    let plus_two = cut.with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap());
    let forms = [
        cut.to_rfc3339_opts(SecondsFormat::Millis, true),
        cut.to_rfc3339_opts(SecondsFormat::Micros, true),
        plus_two.to_rfc3339_opts(SecondsFormat::Millis, false),
        plus_two.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string(),
    ];
    for form in forms {
        let encoded =
            percent_encoding::utf8_percent_encode(&form, percent_encoding::NON_ALPHANUMERIC);
        let r = raw(
            Method::GET,
            &local.url(&format!(
                "/human-loops?FlowDefinitionArn={FLOW}&CreationTimeAfter={encoded}"
            )),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{form}: {}", r.body);
        assert_eq!(names_of(&r.json()), ["late"], "{form}");
    }
}

#[tokio::test]
async fn date_only_filters_select_whole_days() {
    let local = start().await;
    start_loop(&local.a2i(), "today", serde_json::json!({})).await;
    let today = Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let list = |after: Option<String>, before: Option<String>| {
        let mut url = local.url(&format!("/human-loops?FlowDefinitionArn={FLOW}"));
        if let Some(a) = after {
            url.push_str(&format!("&CreationTimeAfter={a}"));
        }
        if let Some(b) = before {
            url.push_str(&format!("&CreationTimeBefore={b}"));
        }
        async move {
            let r = raw(Method::GET, &url, None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            names_of(&r.json())
        }
    };
    assert_eq!(list(Some(today.to_string()), None).await, ["today"]);
    assert_eq!(
        list(Some(today.to_string()), Some(tomorrow.to_string())).await,
        ["today"]
    );
    assert!(list(Some(tomorrow.to_string()), None).await.is_empty());
    assert!(list(None, Some(today.to_string())).await.is_empty());
    // After later than Before is an empty result, not an error.
    assert!(list(Some(tomorrow.to_string()), Some(today.to_string()))
        .await
        .is_empty());
}

#[tokio::test]
async fn an_unknown_flow_definition_lists_nothing() {
    let local = start().await;
    start_loop(&local.a2i(), "x", serde_json::json!({})).await;
    let page = local
        .a2i()
        .list_human_loops()
        .flow_definition_arn("arn:aws:sagemaker:us-east-1:111122223333:flow-definition/none")
        .send()
        .await
        .unwrap();
    assert!(page.human_loop_summaries().is_empty());
    assert!(page.next_token().is_none());
}
