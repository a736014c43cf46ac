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
  async function createTweet(text, replyTo, mediaIds) {
    const entities = (mediaIds || []).map(id => ({media_id: id, tagged_users: []}));
    const variables = {tweet_text: text, dark_request: false, media: {media_entities: entities, possibly_sensitive: false}};
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
    const media = []; let uploading = 0;  // attached media ({id, alt}) and uploads still running
    const refresh = () => {
      const ready = uploading === 0 && boxes().every(b => b.textContent.trim().length > 0);
      if (!ready) { clearTimeout(enableTimer); enableTimer = null; button.disabled = true; return; }
      if (cfg.slowButtonMs > 0 && button.disabled) {
        if (!enableTimer) enableTimer = setTimeout(() => { button.disabled = false; }, cfg.slowButtonMs);
      } else { button.disabled = false; }
    };
    composer.addEventListener('input', refresh);
    const fileInput = composer.querySelector('input[data-testid=fileInput]');
    const attachments = composer.querySelector('[data-testid=attachments]');
    function editAlt(entry) {  // X's "Add description" sheet: a text area and a Save button
      const sheet = document.createElement('div');
      sheet.setAttribute('role', 'dialog'); sheet.setAttribute('aria-modal', 'true'); sheet.className = 'reply';
      sheet.setAttribute('aria-label', 'Edit image description');
      sheet.innerHTML = '<h2>Edit image description</h2><textarea data-testid="altTextInput" aria-label="Description" maxlength="1000"></textarea><button type="button" data-testid="endEditingButton">Save</button>';
      const area = sheet.querySelector('textarea'); area.value = entry.alt;
      sheet.querySelector('button').addEventListener('click', async () => {
        const r = await fetch('/i/media/metadata', {method: 'POST', credentials: 'include',
          headers: {'content-type': 'application/json', 'x-csrf-token': cookie('ct0')},
          body: JSON.stringify({media_id: entry.id, alt_text: {text: area.value}})});
        if (r.ok) { entry.alt = area.value; entry.el.querySelector('img').alt = area.value; sheet.remove(); }
        else toast('<span data-testid="error">The description could not be saved.</span>');
      });
      layers().appendChild(sheet); area.focus();
    }
    if (fileInput) fileInput.addEventListener('change', async () => {
      const files = Array.from(fileInput.files); fileInput.value = '';
      for (const file of files) {
        uploading++; refresh();
        try {
          const r = await fetch('/i/media/upload', {method: 'POST', credentials: 'include',
            headers: {'content-type': file.type || 'application/octet-stream', 'x-csrf-token': cookie('ct0')}, body: file});
          const body = await r.json();
          if (!r.ok) throw new Error(body.detail || ('HTTP ' + r.status));
          const entry = {id: body.media_id_string, alt: ''};
          entry.el = document.createElement('div');
          entry.el.setAttribute('data-testid', 'attachment'); entry.el.dataset.mediaId = entry.id;
          entry.el.innerHTML = `<img src="/media/${entry.id}" alt="" width="64"><button type="button" data-testid="altTextButton" aria-label="Add description">Add description</button>`;
          entry.el.querySelector('button').addEventListener('click', () => editAlt(entry));
          attachments.appendChild(entry.el); media.push(entry);
        } catch (e) {
          toast(`<span data-testid="error">${e.message.replace(/</g, '&lt;')}</span>`);
        } finally { uploading--; refresh(); }
      }
    });
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
        for (const [index, text] of texts.entries()) {
          const id = await createTweet(text, parent, index === 0 ? media.map(m => m.id) : []);
          if (!id) { missing = true; break; }
          first = first || id; parent = id;
        }
        const link = (!missing && first) ? ` <a href="/${cfg.handle}/status/${first}">View</a>` : '';
        toast(`<span>Your post was sent.</span>${link}`);
        boxes().forEach((b, i) => { if (i > 0) b.remove(); else b.textContent = ''; });
        media.splice(0).forEach(m => m.el.remove());
        const dialog = composer.closest('[role=dialog]'); if (dialog) dialog.remove();
      } catch (e) {
        toast(`<span data-testid="error">${e.message.replace(/</g, '&lt;')}</span>`);
        refresh();
      }
    });
  }
  document.querySelectorAll('[data-composer]').forEach(wire);
  const wireReplies = (root) => root.querySelectorAll('article [data-testid=reply]').forEach(btn => btn.addEventListener('click', () => {
    const target = btn.closest('article').dataset.postId;
    const dialog = document.createElement('div');
    dialog.setAttribute('role', 'dialog'); dialog.setAttribute('aria-modal', 'true'); dialog.className = 'reply';
    dialog.innerHTML = document.getElementById('reply-template').innerHTML;
    dialog.querySelector('[data-composer]').dataset.replyTo = target;
    layers().appendChild(dialog); wire(dialog.querySelector('[data-composer]'));
  }));
  wireReplies(document);
  // a profile renders a handful of posts; scrolling loads the next batch after a short while, like X
  const timeline = document.querySelector('section[data-infinite]');
  let loading = false;
  const more = () => {
    const next = timeline && timeline.querySelector('template[data-more]');
    if (!next || loading) return;
    loading = true;
    setTimeout(() => {
      const batch = document.createElement('div');
      batch.appendChild(next.content.cloneNode(true)); next.remove();
      wireReplies(batch); timeline.append(...batch.childNodes); loading = false;
    }, 150);
  };
  if (timeline) { window.addEventListener('wheel', more); window.addEventListener('scroll', more); }
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


MEDIA_PICKER = (  # X's media button is a hidden file input; attached media show under the text
    '<div data-testid="attachments"></div><label aria-label="Add photos or video">&#128247;'
    '<input type="file" data-testid="fileInput" multiple style="display:none" '
    'accept="image/jpeg,image/png,image/webp,image/gif"></label>'
)


def composer(button_testid: str, *, alt: bool, thread: bool = False) -> str:
    """The composer; ``alt`` renders X's other layout (no ``tweetTextarea_0`` / button test ids). Both
    offer the media picker and its description sheet."""
    if alt:
        return (
            '<div data-composer class="composer-v2"><div data-testid="tweetTextarea_0RichTextInputContainer">'
            '<div class="box public-DraftEditor-content" contenteditable="true" role="textbox" '
            f'aria-label="Post text" aria-multiline="true"></div></div>{MEDIA_PICKER}'
            '<div data-testid="toolBar"><button type="button" data-post-button disabled aria-label="Post">'
            "<span>Post</span></button></div></div>"
        )
    add = '<button type="button" data-testid="addButton" aria-label="Add post">+</button>' if thread else ""
    return (
        '<div data-composer><div class="box" data-testid="tweetTextarea_0" contenteditable="true" '
        f'role="textbox" aria-label="Post text" aria-multiline="true"></div>{add}{MEDIA_PICKER}'
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
        f'<div data-testid="tweetText" lang="en">{escape(post["text"])}</div>{_media_html(post)}'
        f'<a href="/{handle}/status/{post_id}"><time datetime="{stamp}">{created:%b %d}</time></a>{group}</article>'
    )


def _media_html(post: dict[str, Any]) -> str:
    """A post's photos / GIF with their alt text, as X renders them (``tweetPhoto``, ``img[alt]``)."""
    items = post.get("media") or []
    if not items:
        return ""
    shown = "".join(
        f'<div data-testid="{"tweetGif" if m["type"] == "animated_gif" else "tweetPhoto"}">'
        f'<img src="/media/{escape(m["media_id"])}" alt="{escape(m.get("alt_text") or "Image")}" width="120"></div>'
        for m in items
    )
    return f'<div data-testid="tweetMedia">{shown}</div>'


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
