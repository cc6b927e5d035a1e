// Switchboard's only script. Every page works without it; with it, replies stream into the
// page as they are written, a reply still being written elsewhere updates itself, and code
// and messages get copy buttons. It is inline and named by its hash in the page's CSP.
(function () {
  'use strict';

  // Copy buttons: the server renders them hidden (they need a script to work).
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    button.hidden = false;
    button.addEventListener('click', function () {
      var source = document.getElementById(button.dataset.copy);
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.textContent).then(function () {
        var label = button.textContent;
        button.textContent = 'Copied';
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });

  // A reply being written by another request (or before a reload): fetch the page again
  // until it is done, replacing only the message list so that typing is not disturbed.
  function follow() {
    var log = document.getElementById('log');
    if (!log || log.dataset.live !== 'true') return;
    setTimeout(function () {
      fetch(location.href, { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('log');
          if (fresh) {
            log.replaceWith(document.importNode(fresh, true));
            follow();
          }
        })
        .catch(function () { setTimeout(follow, 3000); });
    }, 1000);
  }
  follow();

  // Sending: post the form with fetch and read the reply as server-sent events.
  var form = document.querySelector('form[data-stream]');
  if (!form || !window.fetch || !window.TextDecoder || !window.ReadableStream) return;
  form.addEventListener('submit', function (event) {
    var box = form.querySelector('textarea[name=message]');
    // An empty message goes the ordinary way, and the server says what is wrong.
    if (!box || !box.value.trim()) return;
    event.preventDefault();
    var log = document.getElementById('log') || document.getElementById('live-log');
    log.hidden = false;
    var mine = document.createElement('li');
    mine.className = 'message user';
    var mineText = document.createElement('div');
    mineText.className = 'text plain';
    mineText.textContent = box.value;
    mine.appendChild(mineText);
    var reply = document.createElement('li');
    reply.className = 'message assistant streaming';
    reply.id = 'live-reply';
    var replyText = document.createElement('div');
    replyText.className = 'text plain';
    replyText.setAttribute('aria-live', 'polite');
    reply.appendChild(replyText);
    var status = document.createElement('p');
    status.className = 'state';
    status.textContent = 'Writing…';
    reply.appendChild(status);
    log.appendChild(mine);
    log.appendChild(reply);
    reply.scrollIntoView({ block: 'end' });
    var button = form.querySelector('button[type=submit]');
    if (button) button.disabled = true;

    var body = new URLSearchParams(new FormData(form));
    var target = null;
    fetch(form.getAttribute('action'), {
      method: 'POST',
      body: body,
      credentials: 'same-origin',
      headers: { 'Accept': 'text/event-stream' }
    }).then(function (response) {
      var type = response.headers.get('content-type') || '';
      if (!response.ok || type.indexOf('text/event-stream') !== 0) {
        // Refused before anything was stored (or signed out): let the server show why.
        if (response.redirected) location.assign(response.url); else form.submit();
        return;
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = '';
      function handle(block) {
        var name = 'message', data = '';
        block.split('\n').forEach(function (line) {
          if (line.indexOf('event:') === 0) name = line.slice(6).trim();
          else if (line.indexOf('data:') === 0) data += line.slice(5).replace(/^ /, '');
        });
        var value = data ? JSON.parse(data) : null;
        if (name === 'start') target = value.url;
        else if (name === 'text') {
          replyText.textContent += value;
          reply.scrollIntoView({ block: 'end' });
        } else if (name === 'error') {
          status.textContent = value.message;
          status.className = 'state failed';
        }
      }
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) {
            finish();
            return;
          }
          buffer += decoder.decode(chunk.value, { stream: true });
          var at;
          while ((at = buffer.indexOf('\n\n')) >= 0) {
            handle(buffer.slice(0, at));
            buffer = buffer.slice(at + 2);
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      status.textContent = 'The connection broke. What has arrived is saved; reloading…';
      finish();
    });

    // The finished page comes from the server: rendered Markdown, and the right buttons.
    function finish() {
      var url = (target || location.pathname) + '#latest';
      if (target && location.pathname !== target) location.assign(url);
      else {
        history.replaceState(null, '', url);
        location.reload();
      }
    }
  });
})();
