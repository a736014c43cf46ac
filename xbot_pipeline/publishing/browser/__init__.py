"""The browser publisher: Playwright (sync) on X's web page, one browser per instance, reused across posts.

- Session: a Playwright storage state (``XBOT_SESSION_FILE``); every page visit checks for the login page.
- The id: the GraphQL ``CreateTweet`` answer (listened for before clicking), then the "sent" toast's
  link, then the newest matching post on the profile page.
- Every operation has a deadline; every Playwright call gets the time left. When time runs out the page
  and context are closed (the operation cannot go on beside the next one) and the outcome is UNKNOWN if
  the post button had been clicked, RETRYABLE otherwise.
- The browser launches lazily and is closed by ``close()`` / ``__exit__`` (and on interpreter exit).

Modules by job: ``lifecycle`` (driver, launch, context, session save, close, navigation), ``composer``
(publish a single, reply or thread; await the outcome; recover a lost id), ``chain`` (threads as reply
chains), ``answers`` (the page's GraphQL answers; X's errors via ``publishing.x_errors``), ``reads``
(recent posts, metrics, followers), ``deadline`` and ``outcome`` (shared by all of them).
"""

from xbot_pipeline.publishing.browser.lifecycle import pick_executable
from xbot_pipeline.publishing.browser.publisher import BrowserPublisher

__all__ = ["BrowserPublisher", "pick_executable"]
