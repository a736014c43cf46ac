# ruff: noqa: E501  (HTML and JavaScript read better unwrapped)
"""HTML of the stand-in's web page, with X's markup contract (the test ids a browser publisher relies on)."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from typing import Any

STYLE = """
body{font-family:sans-serif;margin:0}#react-root{max-width:600px;margin:0 auto;padding:12px}
.box{min-height:48px;border:1px solid #ccc;padding:6px;margin:6px 0}
article{border-bottom:1px solid #eee;padding:8px 0}[data-testid=tweetText]{white-space:pre-wrap}
#consent{position:fixed;inset:0;background:rgba(0,0,0,.55);z-index:1000;display:flex;align-items:flex-end}
#consent .sheet{background:#fff;width:100%;padding:16px}
[role=dialog].reply{position:fixed;inset:40px;background:#fff;border:1px solid #999;z-index:500;padding:12px}
[data-testid=toast]{position:fixed;bottom:16px;left:16px;background:#1d9bf0;color:#fff;padding:8px;z-index:900}
"""

SCRIPT = r"""
(() => {
  const cfg = window.__SBX;
  const cookie = (name) => (document.cookie.split('; ').find(c => c.startsWith(name + '=')) || '').slice(name.length + 1);
  const layers = () => document.getElementById('layers');
  function toast(html, ms) {
    const t = document.createElement('div');
    t.setAttribute('data-testid', 'toast'); t.setAttribute('role', 'alert'); t.innerHTML = html;
    layers().appendChild(t); setTimeout(() => t.remove(), ms || cfg.toastMs);
  }
  async function createTweet(text, replyTo) {
    const variables = {tweet_text: text, dark_request: false, media: {media_entities: [], possibly_sensitive: false}};
    if (replyTo) variables.reply = {in_reply_to_tweet_id: replyTo, exclude_reply_user_ids: []};
    const r = await fetch(`/i/api/graphql/${cfg.gqlHash}/CreateTweet`, {
      method: 'POST', credentials: 'include',
      headers: {'content-type': 'application/json', 'x-csrf-token': cookie('ct0')},
      body: JSON.stringify({variables, queryId: cfg.gqlHash})});
    const body = await r.json();
    if (!r.ok || body.errors) throw new Error((body.errors && body.errors[0] && body.errors[0].message) || ('HTTP ' + r.status));
    const res = body.data && body.data.create_tweet && body.data.create_tweet.tweet_results.result;
    return res ? res.rest_id : null;
  }
  function wire(composer) {
    const boxes = () => Array.from(composer.querySelectorAll('[contenteditable=true]'));
    const button = composer.querySelector('[data-post-button]');
    let enableTimer = null;
    const refresh = () => {
      const ready = boxes().every(b => b.textContent.trim().length > 0);
      if (!ready) { clearTimeout(enableTimer); enableTimer = null; button.disabled = true; return; }
      if (cfg.slowButtonMs > 0 && button.disabled) {
        if (!enableTimer) enableTimer = setTimeout(() => { button.disabled = false; }, cfg.slowButtonMs);
      } else { button.disabled = false; }
    };
    composer.addEventListener('input', refresh);
    const add = composer.querySelector('[data-testid=addButton]');
    if (add) add.addEventListener('click', () => {
      const n = boxes().length;
      const box = document.createElement('div');
      box.className = 'box'; box.contentEditable = 'true'; box.setAttribute('role', 'textbox');
      box.setAttribute('data-testid', 'tweetTextarea_' + n); box.setAttribute('aria-label', 'Post text');
      add.before(box); refresh();
    });
    button.addEventListener('click', async () => {
      if (button.disabled) return;
      button.disabled = true;
      const texts = boxes().map(b => b.innerText.replace(/\n$/, ''));
      let parent = composer.dataset.replyTo || null; let first = null; let missing = false;
      try {
        for (const text of texts) {
          const id = await createTweet(text, parent);
          if (!id) { missing = true; break; }
          first = first || id; parent = id;
        }
        const link = (!missing && first) ? ` <a href="/${cfg.handle}/status/${first}">View</a>` : '';
        toast(`<span>Your post was sent.</span>${link}`);
        boxes().forEach((b, i) => { if (i > 0) b.remove(); else b.textContent = ''; });
        const dialog = composer.closest('[role=dialog]'); if (dialog) dialog.remove();
      } catch (e) {
        toast(`<span data-testid="error">${e.message.replace(/</g, '&lt;')}</span>`);
        refresh();
      }
    });
  }
  document.querySelectorAll('[data-composer]').forEach(wire);
  document.querySelectorAll('article [data-testid=reply]').forEach(btn => btn.addEventListener('click', () => {
    const target = btn.closest('article').dataset.postId;
    const dialog = document.createElement('div');
    dialog.setAttribute('role', 'dialog'); dialog.setAttribute('aria-modal', 'true'); dialog.className = 'reply';
    dialog.innerHTML = document.getElementById('reply-template').innerHTML;
    dialog.querySelector('[data-composer]').dataset.replyTo = target;
    layers().appendChild(dialog); wire(dialog.querySelector('[data-composer]'));
  }));
  if (cfg.focalTweetId) {
    const variables = {focalTweetId: cfg.focalTweetId, with_rux_injections: false, includePromotedContent: true, withCommunity: true, withVoice: true};
    fetch(`/i/api/graphql/${cfg.detailHash}/TweetDetail?variables=${encodeURIComponent(JSON.stringify(variables))}`,
      {credentials: 'include', headers: {'x-csrf-token': cookie('ct0')}}).catch(() => {});
  }
  const consent = document.getElementById('consent');
  if (consent) consent.querySelectorAll('button').forEach(b => b.addEventListener('click', () => {
    if (!cfg.consentSticky) consent.remove();
  }));
})();
"""


def composer(button_testid: str, *, alt: bool, thread: bool = False) -> str:
    """The composer; ``alt`` renders X's other layout (no ``tweetTextarea_0`` / button test ids)."""
    if alt:
        return (
            '<div data-composer class="composer-v2"><div data-testid="tweetTextarea_0RichTextInputContainer">'
            '<div class="box public-DraftEditor-content" contenteditable="true" role="textbox" '
            'aria-label="Post text" aria-multiline="true"></div></div>'
            '<div data-testid="toolBar"><button type="button" data-post-button disabled aria-label="Post">'
            "<span>Post</span></button></div></div>"
        )
    add = '<button type="button" data-testid="addButton" aria-label="Add post">+</button>' if thread else ""
    return (
        '<div data-composer><div class="box" data-testid="tweetTextarea_0" contenteditable="true" '
        f'role="textbox" aria-label="Post text" aria-multiline="true"></div>{add}'
        f'<button type="button" data-testid="{button_testid}" data-post-button disabled>Post</button></div>'
    )


def shell(title: str, body: str, *, cfg: dict[str, Any], consent: bool = False, extra: str = "") -> str:
    overlay = (
        '<div id="consent" data-testid="BottomBar" role="dialog" aria-label="Cookie consent"><div class="sheet">'
        "<p>Did someone say … cookies?</p><button type=button>Accept all cookies</button> "
        "<button type=button>Refuse non-essential cookies</button></div></div>"
        if consent
        else ""
    )
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)} / X</title>"
        f"<style>{STYLE}</style></head><body><div id=react-root><main role=main>{body}</main></div>"
        f'<div id="layers"></div>{overlay}{extra}<script>window.__SBX = {json.dumps(cfg)};</script>'
        f"<script>{SCRIPT}</script></body></html>"
    )


def compact(n: int) -> str:
    """X's compact counts: 999, 1.2K, 3.4M."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    if n >= 10_000:
        return f"{n // 1000}K"
    if n >= 1_000:
        return f"{n / 1000:.1f}K".replace(".0K", "K")
    return str(n)


def article(post: dict[str, Any], metrics: dict[str, int] | None, *, reply_ui: bool = True) -> str:
    """One post; ``reply_ui=False`` leaves out the reply button (the ``alt_layout`` fault's ``no_reply``)."""
    handle, post_id = escape(post["handle"]), escape(post["id"])
    created: datetime = post["created_at"]
    stamp = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    group = ""
    if metrics is not None:

        def count(testid: str, n: int, label: str) -> str:
            return (
                f'<button type=button data-testid="{testid}" aria-label="{n} {label}. {label}">'
                f"<span>{compact(n) if n else ''}</span></button>"
            )

        group = (
            f'<div role="group" aria-label="{metrics["replies"]} replies, {metrics["reposts"]} reposts, '
            f'{metrics["likes"]} likes, {metrics["bookmarks"]} bookmarks, {metrics["impressions"]} views">'
            + (count("reply", metrics["replies"], "Replies") if reply_ui else "")
            + count("retweet", metrics["reposts"], "reposts")
            + count("like", metrics["likes"], "Likes")
            + count("bookmark", metrics["bookmarks"], "Bookmarks")
            + f'<a href="/{handle}/status/{post_id}/analytics" aria-label="{metrics["impressions"]} views. '
            f'View post analytics"><span data-testid="app-text-transition-container">'
            f"{compact(metrics['impressions'])}</span> Views</a></div>"
        )
    parent = (
        f'<div data-testid="replyingTo">Replying to <a href="/i/status/{escape(post["parent_id"])}">post</a></div>'
        if post.get("parent_id")
        else ""
    )
    return (
        f'<article data-testid="tweet" role="article" data-post-id="{post_id}">'
        f'<div data-testid="User-Name"><a href="/{handle}">@{handle}</a></div>{parent}'
        f'<div data-testid="tweetText" lang="en">{escape(post["text"])}</div>'
        f'<a href="/{handle}/status/{post_id}"><time datetime="{stamp}">{created:%b %d}</time></a>{group}</article>'
    )


def tweet_detail(post: dict[str, Any], metrics: dict[str, int]) -> dict[str, Any]:
    """X's ``TweetDetail`` GraphQL answer for one post (the focal entry only), counts in ``legacy``."""
    created: datetime = post["created_at"]
    result = {
        "__typename": "Tweet",
        "rest_id": post["id"],
        "views": {"count": str(metrics["impressions"]), "state": "EnabledWithCount"},
        "legacy": {
            "id_str": post["id"],
            "full_text": post["text"],
            "created_at": created.strftime("%a %b %d %H:%M:%S +0000 %Y"),
            "in_reply_to_status_id_str": post.get("parent_id"),
            "favorite_count": metrics["likes"],
            "retweet_count": metrics["reposts"],
            "reply_count": metrics["replies"],
            "quote_count": metrics["quotes"],
            "bookmark_count": metrics["bookmarks"],
        },
    }
    entry = {
        "entryId": f"tweet-{post['id']}",
        "content": {
            "entryType": "TimelineTimelineItem",
            "itemContent": {"itemType": "TimelineTweet", "tweet_results": {"result": result}},
        },
    }
    instructions = [{"type": "TimelineAddEntries", "entries": [entry]}]
    return {"data": {"threaded_conversation_with_injections_v2": {"instructions": instructions}}}
