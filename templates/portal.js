// Switchboard's only script. Every page works without it; with it, replies stream into the
// page as they are written, a reply still being written elsewhere updates itself, and code
// and messages get copy buttons. It is inline and named by its hash in the page's CSP.
(function () {
  'use strict';

  // Styles that only make sense with the script (the message box held at the bottom of the
  // screen, where Enter sends) hang on this class.
  document.documentElement.classList.add('js');

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

  // The cost estimate beside a message field: the same arithmetic as the server's
  // (shared/src/estimate.rs), redone as the user types or picks another model.
  function tokens(text) {
    return Math.ceil(new TextEncoder().encode(text).length / 4);
  }
  function nanos(count, pricePerMillion) {
    return Math.max(0, Math.round(count * pricePerMillion * 1000));
  }
  function dollars(n) {
    if (n === 0) return '$0.00';
    var d = n / 1e9;
    if (d >= 1) return '$' + (Math.round(n / 1e7) / 100).toFixed(2);
    var decimals = Math.min(9, Math.max(2, 2 - Math.floor(Math.log10(d)) + 1));
    var text = d.toFixed(decimals).replace(/0+$/, '');
    if (/\.$/.test(text)) text += '00';
    else if (text.split('.')[1].length < 2) text += '0';
    return '$' + text;
  }
  document.querySelectorAll('[data-estimate]').forEach(function (note) {
    var owner = note.closest('form');
    if (!owner || !window.TextEncoder) return;
    var box = owner.querySelector('textarea[name=message]');
    var system = owner.querySelector('textarea[name=system]');
    var select = owner.querySelector('select[name=model]');
    var base = Number(note.dataset.contextTokens);
    var typical = Number(note.dataset.replyTokens);
    function update() {
      var option = select && select.selectedOptions[0];
      if (!option) return;
      var name = option.textContent;
      var input = base + (box ? tokens(box.value) : 0);
      // Files waiting to be sent, at their estimates (the page's, or the upload script's).
      owner.querySelectorAll('[data-attached] [data-tokens]').forEach(function (file) {
        input += Number(file.getAttribute('data-tokens')) || 0;
      });
      if (system && system.value.trim()) input += tokens(system.value) + 4;
      var reply = Math.min(typical, Math.max(1, Number(option.dataset.maxOutput)));
      var cost = nanos(input, Number(option.dataset.inputPrice)) +
        nanos(reply, Number(option.dataset.outputPrice));
      note.textContent = cost === 0
        ? 'Sending with ' + name + ' costs nothing: it has no price set.'
        : 'Sending with ' + name + ' costs about ' + dollars(cost) + ': about ' + input +
          ' tokens in (the conversation and your message) and a typical reply of ' + reply +
          ' tokens.';
    }
    [box, system].forEach(function (field) { if (field) field.addEventListener('input', update); });
    if (select) select.addEventListener('change', update);
  });

  // Keys: in a message box Enter sends and Shift+Enter starts a new line (said beside it);
  // anywhere but a field, "/" goes to the search.
  document.querySelectorAll('textarea[name=message]').forEach(function (box) {
    var hint = box.parentNode.querySelector('[data-keys]');
    if (hint) hint.hidden = false;
    box.addEventListener('keydown', function (event) {
      if (event.key !== 'Enter' || event.shiftKey || event.altKey || event.ctrlKey ||
          event.metaKey || event.isComposing) return;
      event.preventDefault();
      if (box.form && box.form.requestSubmit) box.form.requestSubmit();
    });
  });
  var search = document.querySelector('input[type=search][aria-keyshortcuts]');
  if (search) {
    document.addEventListener('keydown', function (event) {
      if (event.key !== '/' || event.altKey || event.ctrlKey || event.metaKey) return;
      var target = event.target;
      if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      event.preventDefault();
      search.focus();
    });
  }

  // Attaching: each file picked, dropped on the message box or pasted into it is uploaded at
  // once (straight to storage, with the page's signed form), then listed with the message.
  var upload = document.querySelector('form[data-upload]');
  var attached = document.querySelector('[data-attached]');
  if (upload && attached && window.fetch && window.FormData) {
    var picker = upload.querySelector('input[type=file]');
    var uploadError = upload.querySelector('[data-upload-error]');
    var maxBytes = Number(upload.getAttribute('data-max-bytes'));
    var maxFiles = Number(upload.getAttribute('data-max-files'));
    var keyField = upload.querySelector('input[name=key]');
    picker.multiple = true;
    upload.querySelector('button[type=submit]').hidden = true;
    var fail = function (text) {
      uploadError.textContent = text;
      uploadError.hidden = false;
    };
    var box = document.querySelector('form[data-stream] textarea[name=message]');
    // The estimate follows the files (see the cost estimate above).
    var recount = function () {
      if (box) box.dispatchEvent(new Event('input'));
    };
    // A file's tokens by the server's rule (shared/src/attachments/sniff.rs), for the estimate.
    var fileTokens = function (file) {
      if (/^image\//.test(file.type) && window.createImageBitmap) {
        return createImageBitmap(file).then(function (image) {
          var w = image.width, h = image.height;
          var scale = Math.min(1, 1568 / Math.max(w, h), Math.sqrt(1150000 / (w * h)));
          return Math.max(1, Math.ceil(w * scale * h * scale / 750));
        }, function () { return null; });
      }
      if (file.type === 'application/pdf' || /\.pdf$/i.test(file.name)) {
        return file.arrayBuffer().then(function (buffer) {
          var text = new TextDecoder('latin1').decode(buffer);
          var pages = (text.match(/\/Type\s*\/Page(?!s)/g) || []).length;
          return 1500 * Math.min(1000, Math.max(1, pages));
        });
      }
      return Promise.resolve(Math.ceil(file.size / 4));
    };
    var listed = function (key, name, count) {
      var item = document.createElement('li');
      if (count !== null) item.setAttribute('data-tokens', String(count));
      item.textContent = name + ' ';
      var field = document.createElement('input');
      field.type = 'hidden';
      field.name = 'attachment';
      field.value = key;
      item.appendChild(field);
      var remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'secondary';
      remove.textContent = 'Remove';
      remove.setAttribute('aria-label', 'Remove ' + name);
      remove.addEventListener('click', function () {
        item.remove();
        attached.hidden = !attached.querySelector('li');
        recount();
      });
      item.appendChild(remove);
      attached.appendChild(item);
      attached.hidden = false;
      recount();
    };
    var send = function (file, name) {
      uploadError.hidden = true;
      if (attached.querySelectorAll('li').length >= maxFiles) {
        return fail('A message takes at most ' + maxFiles + ' files.');
      }
      if (file.size > maxBytes) {
        return fail(name + ' is larger than an attachment may be (' + (maxBytes / 1e6) + ' MB).');
      }
      var data = new FormData();
      upload.querySelectorAll('input[type=hidden]').forEach(function (field) {
        data.append(field.name, field.value);
      });
      data.append('file', file, name);
      var key = keyField.value.replace('${filename}', name);
      var counted = fileTokens(file);
      fetch(upload.getAttribute('action'), { method: 'POST', body: data, redirect: 'manual', credentials: 'same-origin' })
        .then(function (response) {
          if (response.type === 'opaqueredirect' || response.ok) {
            return counted.then(function (count) { listed(key, name, count); });
          }
          fail(response.status === 413 ? name + ' is too large to attach.'
            : name + ' was not accepted (' + response.status + '). Reload the page and try again.');
        })
        .catch(function () { fail(name + ' could not be uploaded. Check the connection and try again.'); });
    };
    var pasted = 0;
    var sendAll = function (files, fromPaste) {
      for (var i = 0; i < files.length; i++) {
        var file = files[i];
        // Pasted images all arrive as "image.png": each gets its own name.
        var name = fromPaste ? 'pasted-' + Date.now() + '-' + (++pasted) + '.' + (file.type.split('/')[1] || 'png') : file.name;
        send(file, name);
      }
    };
    picker.addEventListener('change', function () {
      sendAll(picker.files, false);
      picker.value = '';
    });
    if (box) {
      box.addEventListener('dragover', function (event) { event.preventDefault(); });
      box.addEventListener('drop', function (event) {
        if (!event.dataTransfer || !event.dataTransfer.files.length) return;
        event.preventDefault();
        sendAll(event.dataTransfer.files, false);
      });
      box.addEventListener('paste', function (event) {
        var files = event.clipboardData && event.clipboardData.files;
        if (!files || !files.length) return;
        event.preventDefault();
        sendAll(files, true);
      });
    }
  }

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
    var thinking = null;
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
        } else if (name === 'thinking') {
          // The model's working, apart from its answer and collapsed: open it to watch.
          if (!thinking) {
            var details = document.createElement('details');
            details.className = 'thinking';
            var summary = document.createElement('summary');
            summary.textContent = 'Thinking';
            thinking = document.createElement('div');
            thinking.className = 'thinking-text';
            details.appendChild(summary);
            details.appendChild(thinking);
            reply.insertBefore(details, replyText);
          }
          thinking.textContent += value;
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
