/*
 * crowd-html-elements.js — a2i-local's own implementation of the Crowd HTML Elements.
 *
 * Written for a2i-local from the documented behaviour of the elements (what each one shows and
 * the answer shape it adds to answerContent); it is not AWS's script and shares no code with it.
 * Custom elements in the light DOM, no framework, no network access except the submission below.
 * Served by a2i-local at GET /_local/assets/crowd-html-elements.js. docs/crowd-elements.md lists
 * the supported elements, their attributes and answer shapes.
 *
 * SUBMISSION CONTRACT (what a page embedding a task relies on)
 *  - A submit (the automatic Submit button, a <crowd-button form-action="submit">, a native
 *    submit button without a form of its own, or crowdForm.submit()) runs, in this order:
 *      1. a cancelable, bubbling `submit` Event on the <crowd-form>: `onsubmit` attributes,
 *         `crowdForm.onsubmit = fn` and `addEventListener('submit', fn)` all see it; a handler
 *         that calls preventDefault() (or an onsubmit returning false) stops the submit silently
 *         (the page shows its own message);
 *      2. validation of every field (`required`, lengths, patterns, input types, a classifier
 *         choice); any failure stops the submit, marks the fields and lists them at the top;
 *      3. collection of answerContent (crowd elements by their `name`, plus named native
 *         input/select/textarea controls as strings; empty values are left out);
 *      4. delivery:
 *         - the submit URL is the first of: the crowd-form's `data-submit-url` attribute,
 *           `window.CROWD_LOCAL_SUBMIT_URL`, the `data-submit-url` attribute of this script tag.
 *         - with a URL: fetch(url, {method: 'POST', credentials: 'same-origin',
 *           headers: {'Content-Type': 'application/json'}, body: JSON.stringify({answerContent})}).
 *           A 2xx response fires `crowd-submitted` (detail: {answerContent, status, body}) on the
 *           form; a JSON body with a string `redirect` then navigates there, otherwise the form
 *           says the answer was submitted and disables its submit buttons. Any other response
 *           (or a network error) shows an error alert (the body's `message`/`Message`, if any)
 *           and lets the worker submit again.
 *         - without a URL (previews, tests): a bubbling `crowd-submit` CustomEvent with
 *           detail.answerContent is dispatched on the form and the answer is shown as JSON
 *           below the form (<pre class="crowd-local-answer">). Nothing is sent anywhere.
 *  - crowdForm.submit() returns a Promise of {outcome, answerContent?, invalid?}; outcome is
 *    'prevented', 'invalid', 'shown' (no URL), 'submitted' or 'failed'.
 *  - Release (give the task back): the release URL is the first of the form's
 *    `data-release-url`, `window.CROWD_LOCAL_RELEASE_URL`, this script tag's `data-release-url`.
 *    When one is set the form shows a "Release task" button; it (and crowdForm.release()) POSTs
 *    `{}` as JSON there, with the same 2xx/redirect/error handling as a submit. Without a URL,
 *    release() only dispatches a bubbling `crowd-release` event.
 *  - crowd-textract-analyze-document and crowd-rekognition-detect-moderation-labels (A2I's
 *    built-in task types) take no name: they answer under A2I's request source,
 *    'AWS/Textract/AnalyzeDocument/Forms/V1' and 'AWS/Rekognition/DetectModerationLabels/Image/V3'.
 *  - Any other crowd-* element is shown as a visible "not supported locally" box; its answer is
 *    missing from answerContent, and the form says so next to its Submit button.
 *  - Text from attributes and item data is only ever inserted as text (never as HTML).
 */
(function () {
  'use strict';
  if (!window.customElements || window.CrowdLocal) {
    return;
  }

  var VERSION = '1';
  var SCRIPT = document.currentScript;
  var SCRIPT_SUBMIT_URL = SCRIPT ? SCRIPT.getAttribute('data-submit-url') : null;
  var SCRIPT_RELEASE_URL = SCRIPT ? SCRIPT.getAttribute('data-release-url') : null;
  var INTERNAL = 'data-crowd-internal';
  var counter = 0;

  // ---------------------------------------------------------------- helpers

  function uid(prefix) {
    counter += 1;
    return 'crowd-local-' + prefix + '-' + counter;
  }

  /** Creates an element; `text` is inserted as text only. */
  function make(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) {
          return;
        }
        if (key === 'className') {
          node.className = value;
        } else {
          node.setAttribute(key, value === true ? '' : String(value));
        }
      });
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  /** Marks a control we create, so that form collection never takes it for the page's own. */
  function internal(node) {
    node.setAttribute(INTERNAL, '');
    return node;
  }

  /** Runs fn once the document is parsed (children of an element exist only then). */
  function whenParsed(fn) {
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', fn, { once: true });
    } else {
      fn();
    }
  }

  function moveChildren(from, to) {
    while (from.firstChild) {
      to.appendChild(from.firstChild);
    }
  }

  /** Direct children of `host` with the given (region) tag name. */
  function regions(host, tag) {
    return Array.prototype.filter.call(host.children, function (child) {
      return child.localName === tag;
    });
  }

  function intAttr(host, name) {
    var raw = host.getAttribute(name);
    if (raw === null || raw.trim() === '') {
      return null;
    }
    var value = Number(raw);
    return Number.isFinite(value) ? Math.floor(value) : null;
  }

  function numberAttr(host, name, fallback) {
    var raw = host.getAttribute(name);
    if (raw === null || raw.trim() === '') {
      return fallback;
    }
    var value = Number(raw);
    return Number.isFinite(value) ? value : fallback;
  }

  /**
   * Parses a `categories` attribute: a JSON array of strings, or the single-quoted form
   * (['a', 'b']) that AWS's own examples also use. Returns {list} or {error}.
   */
  function parseCategories(raw) {
    if (raw === null || raw.trim() === '') {
      return { error: 'the categories attribute is missing or empty' };
    }
    try {
      var parsed = JSON.parse(raw);
      if (Array.isArray(parsed) && parsed.every(function (c) { return typeof c === 'string'; })) {
        return { list: parsed };
      }
      return { error: 'the categories attribute is not an array of strings' };
    } catch (ignored) {
      // Not JSON: try the quoted-list form below.
    }
    var list = [];
    var i = 0;
    var s = raw.trim();
    function skip() {
      while (i < s.length && /\s/.test(s[i])) {
        i += 1;
      }
    }
    if (s[i] !== '[') {
      return { error: 'the categories attribute is not a JSON array' };
    }
    i += 1;
    skip();
    if (s[i] === ']') {
      return { list: list };
    }
    while (i < s.length) {
      skip();
      var quote = s[i];
      if (quote !== '"' && quote !== "'") {
        return { error: 'the categories attribute is not a JSON array of strings (position ' + i + ')' };
      }
      i += 1;
      var value = '';
      while (i < s.length && s[i] !== quote) {
        if (s[i] === '\\' && i + 1 < s.length) {
          i += 1;
        }
        value += s[i];
        i += 1;
      }
      if (i >= s.length) {
        return { error: 'the categories attribute has an unterminated string' };
      }
      i += 1;
      list.push(value);
      skip();
      if (s[i] === ',') {
        i += 1;
        continue;
      }
      if (s[i] === ']') {
        i += 1;
        skip();
        return i === s.length ? { list: list } : { error: 'the categories attribute has text after the array' };
      }
      return { error: 'the categories attribute is not a JSON array of strings (position ' + i + ')' };
    }
    return { error: 'the categories attribute is not a closed array' };
  }

  function isPlainObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  /** `{name: {value: bool}}`, merged with what other elements of the same name added. */
  function mergeBoolean(answer, name, value, checked) {
    if (!isPlainObject(answer[name])) {
      answer[name] = {};
    }
    answer[name][value] = checked;
  }

  // ---------------------------------------------------------------- styles

  var CSS = [
    '.crowd-local{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;font-size:16px;line-height:1.45;color:#16191f}',
    'crowd-form,crowd-card,crowd-alert,crowd-input,crowd-text-area,crowd-slider,crowd-classifier,crowd-classifier-multi-select,crowd-image-classifier,crowd-instructions,crowd-radio-group,crowd-textract-analyze-document,crowd-rekognition-detect-moderation-labels,crowd-local-unsupported{display:block}',
    'crowd-form{max-width:1100px}',
    'crowd-input,crowd-text-area,crowd-slider,crowd-radio-group{margin:0 0 14px}',
    'crowd-checkbox,crowd-radio-button,crowd-toggle-button{display:block;margin:4px 0}',
    'crowd-radio-group{border:0;padding:0}',
    '.crowd-local-label{display:block;font-weight:600;margin-bottom:4px}',
    '.crowd-local-control{box-sizing:border-box;width:100%;max-width:640px;font:inherit;padding:8px 10px;border:1px solid #687078;border-radius:4px;background:#fff;color:#16191f}',
    '.crowd-local-control:focus,.crowd-local-btn:focus-visible,.crowd-local-choice input:focus-visible{outline:3px solid #0073bb;outline-offset:2px}',
    '[aria-invalid="true"].crowd-local-control{border-color:#d13212;box-shadow:0 0 0 1px #d13212}',
    '.crowd-local-error{color:#b0281a;font-size:14px;margin-top:4px}',
    '.crowd-local-error:empty{display:none}',
    '.crowd-local-hint{color:#545b64;font-size:14px;margin-top:2px}',
    '.crowd-local-choice{display:inline-flex;align-items:center;gap:8px;cursor:pointer;padding:2px 0}',
    '.crowd-local-choice input{width:18px;height:18px;margin:0;accent-color:#0073bb}',
    '.crowd-local-invalid .crowd-local-choice,.crowd-local-invalid-choice{color:#b0281a}',
    '.crowd-local-btn{font:inherit;font-weight:600;border-radius:4px;padding:8px 18px;border:1px solid #545b64;background:#fff;color:#16191f;cursor:pointer}',
    '.crowd-local-btn[disabled]{opacity:.55;cursor:not-allowed}',
    '.crowd-local-btn-primary{background:#ec7211;border-color:#ec7211;color:#111}',
    '.crowd-local-btn-link{border-color:transparent;background:transparent;color:#0066a1;text-decoration:underline;padding:2px 4px}',
    '.crowd-local-btn-icon{padding:6px}',
    '.crowd-local-btn img{height:1em;vertical-align:-0.15em;margin:0 6px}',
    '.crowd-local-actions{display:flex;flex-wrap:wrap;gap:12px;align-items:center;justify-content:flex-end;margin-top:18px;padding-top:12px;border-top:1px solid #d5dbdb}',
    '.crowd-local-alert{display:flex;gap:12px;align-items:flex-start;border:1px solid;border-left-width:6px;border-radius:4px;padding:10px 14px;margin:10px 0}',
    '.crowd-local-alert-info{border-color:#0073bb;background:#f1faff}',
    '.crowd-local-alert-success{border-color:#1d8102;background:#f2f8f0}',
    '.crowd-local-alert-error{border-color:#d13212;background:#fdf3f1}',
    '.crowd-local-alert-warning{border-color:#ff9900;background:#fffbf2}',
    '.crowd-local-alert-body{flex:1}',
    '.crowd-local-alert-close{font:inherit;font-size:20px;line-height:1;border:0;background:transparent;cursor:pointer;padding:0 4px;color:#16191f}',
    '.crowd-local-card{border:1px solid #d5dbdb;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.15);padding:14px 16px;margin:10px 0;background:#fff}',
    '.crowd-local-card h3{margin:0 0 8px;font-size:18px}',
    '.crowd-local-card img{max-width:100%;display:block;margin-bottom:8px}',
    '.crowd-local-switch{appearance:none;-webkit-appearance:none;width:42px!important;height:24px!important;border-radius:12px;background:#aab7b8;position:relative;cursor:pointer;transition:background .15s}',
    '.crowd-local-switch::after{content:"";position:absolute;top:3px;left:3px;width:18px;height:18px;border-radius:50%;background:#fff;transition:left .15s}',
    '.crowd-local-switch:checked{background:#0073bb}',
    '.crowd-local-switch:checked::after{left:21px}',
    '.crowd-local-slider-row{display:flex;align-items:center;gap:12px;max-width:640px}',
    '.crowd-local-slider-row input[type=range]{flex:1}',
    '.crowd-local-slider-value{min-width:3ch;font-variant-numeric:tabular-nums;font-weight:600}',
    '.crowd-local-slider-row input[type=number]{width:7em}',
    '.crowd-local-classifier h2{font-size:20px;margin:0 0 12px}',
    '.crowd-local-columns{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}',
    '.crowd-local-target{flex:2 1 420px;min-width:0;border:1px solid #d5dbdb;border-radius:6px;padding:12px;background:#fafafa;overflow:auto}',
    '.crowd-local-target img.crowd-local-image{max-width:100%;height:auto;display:block}',
    '.crowd-local-side{flex:1 1 260px;min-width:0}',
    '.crowd-local-side fieldset{border:1px solid #d5dbdb;border-radius:6px;padding:8px 12px 10px;margin:10px 0}',
    '.crowd-local-side legend{font-weight:600;padding:0 4px}',
    '.crowd-local-side .crowd-local-choice{display:flex}',
    '.crowd-local-short{margin-bottom:8px}',
    '.crowd-local-full summary{cursor:pointer;color:#0066a1;font-weight:600}',
    '.crowd-local-comment textarea{margin-top:6px}',
    '.crowd-local-note{color:#545b64;font-size:14px;font-style:italic}',
    '.crowd-local-pair{border-top:1px solid #d5dbdb;padding:8px 0}',
    '.crowd-local-pair:first-child{border-top:0}',
    '.crowd-local-pair .crowd-local-label{font-weight:600;font-size:14px;margin:4px 0 2px}',
    '.crowd-local-key[readonly]{background:#f2f3f3;color:#16191f}',
    '.crowd-local-pair-missing .crowd-local-label:first-child{color:#b0281a}',
    '.crowd-local-pair-changed{box-shadow:inset 4px 0 0 #0073bb;padding-left:10px}',
    '.crowd-local-add-pair,.crowd-local-exclusion{margin-top:10px}',
    '.crowd-local-figure{position:relative;display:inline-block;max-width:100%}',
    '.crowd-local-box{position:absolute;box-sizing:border-box;border:2px solid #0073bb;cursor:pointer}',
    '.crowd-local-box-value{border-color:#1d8102}',
    '.crowd-local-box-active{background:rgba(236,114,17,.25);border-color:#ec7211}',
    '.crowd-local-unsupported-box{border:2px dashed #d13212;background:#fdf3f1;color:#16191f;border-radius:6px;padding:12px 14px;margin:10px 0}',
    '.crowd-local-unsupported-box strong{color:#b0281a}',
    '.crowd-local-form-errors{margin:10px 0}',
    '.crowd-local-form-errors ul{margin:6px 0 0;padding-left:22px}',
    '.crowd-local-result{margin-top:14px}',
    '.crowd-local-answer{background:#232f3e;color:#f2f3f3;padding:12px;border-radius:6px;overflow:auto;white-space:pre-wrap;word-break:break-word;font-size:14px}',
    '.crowd-local-dialog{max-width:760px;width:90vw;border:1px solid #aab7b8;border-radius:8px;padding:18px 22px}',
    '.crowd-local-dialog h3{margin:16px 0 6px}',
    '.crowd-local-dialog::backdrop{background:rgba(0,0,0,.45)}',
    '.crowd-local-visually-hidden{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}'
  ].join('\n');

  // Our display rules would otherwise beat the browser's own [hidden] rule.
  CSS += '\n' + ['crowd-form', 'crowd-button', 'crowd-input', 'crowd-text-area', 'crowd-checkbox',
    'crowd-radio-group', 'crowd-radio-button', 'crowd-toggle-button', 'crowd-slider', 'crowd-classifier',
    'crowd-classifier-multi-select', 'crowd-image-classifier', 'crowd-alert', 'crowd-card',
    'crowd-instructions', 'crowd-textract-analyze-document', 'crowd-rekognition-detect-moderation-labels', '.crowd-local', '.crowd-local-form-errors', '.crowd-local-alert'].map(function (s) {
    return s + '[hidden]';
  }).join(',') + '{display:none!important}';

  function installStyles() {
    if (document.getElementById('crowd-local-styles')) {
      return;
    }
    var style = make('style', { id: 'crowd-local-styles' });
    style.textContent = CSS;
    (document.head || document.documentElement).appendChild(style);
  }

  // ---------------------------------------------------------------- base classes

  /** Every element: renders once, after the document is parsed (its children exist then). */
  class CrowdElement extends HTMLElement {
    connectedCallback() {
      if (this._crowdScheduled) {
        return;
      }
      this._crowdScheduled = true;
      var self = this;
      whenParsed(function () {
        if (!self._crowdRendered) {
          self._crowdRendered = true;
          self.classList.add('crowd-local');
          self.crowdRender();
        }
      });
    }

    crowdRender() {}

    /** Renders now if the element is still waiting for the end of parsing. */
    crowdEnsureRendered() {
      if (!this._crowdRendered && this.isConnected && document.readyState !== 'loading') {
        this._crowdRendered = true;
        this.classList.add('crowd-local');
        this.crowdRender();
      }
    }
  }

  /** An element that adds to answerContent and can be validated. */
  class CrowdField extends CrowdElement {
    get name() {
      return this.getAttribute('name') || '';
    }

    set name(value) {
      this.setAttribute('name', value);
    }

    get required() {
      return this.hasAttribute('required');
    }

    set required(value) {
      this.toggleAttribute('required', Boolean(value));
    }

    get disabled() {
      return this.hasAttribute('disabled');
    }

    set disabled(value) {
      this.toggleAttribute('disabled', Boolean(value));
    }

    /** The name shown in the form's list of problems. */
    crowdLabel() {
      return this.getAttribute('label') || this.getAttribute('header') || this.name || this.localName;
    }

    /** Null when valid, else the message to show. */
    crowdValidate() {
      return null;
    }

    /** Adds this element's part of answerContent. */
    crowdContribute() {}

    crowdReset() {}

    /** Where the error message goes, and which control gets aria-invalid. */
    crowdErrorTarget() {
      if (!this._crowdError) {
        this._crowdError = make('div', { className: 'crowd-local-error', id: uid('error'), 'aria-live': 'polite' });
        this.appendChild(this._crowdError);
      }
      return this._crowdError;
    }

    crowdFocusTarget() {
      return this.querySelector('input,textarea,select,button');
    }

    crowdShowError(message) {
      var box = this.crowdErrorTarget();
      box.textContent = message || '';
      this.classList.toggle('crowd-local-invalid', Boolean(message));
      var control = this.crowdFocusTarget();
      if (control) {
        if (message) {
          control.setAttribute('aria-invalid', 'true');
          control.setAttribute('aria-describedby', box.id);
        } else {
          control.removeAttribute('aria-invalid');
        }
      }
    }

    /** Re-validates on input once a submit has shown this field as invalid. */
    crowdRecheck() {
      if (this.classList.contains('crowd-local-invalid') || this.hasAttribute('auto-validate')) {
        this.crowdShowError(this.crowdValidate());
      }
    }
  }

  // ---------------------------------------------------------------- crowd-button

  class CrowdButton extends CrowdElement {
    static get observedAttributes() {
      return ['disabled', 'loading', 'variant'];
    }

    crowdRender() {
      var variant = this.getAttribute('variant') || 'normal';
      var button = internal(make('button', { type: 'button', className: 'crowd-local-btn' }));
      this._crowdButton = button;
      var iconUrl = this.getAttribute('icon-url');
      var icon = iconUrl ? make('img', { src: iconUrl, alt: '' }) : null;
      var label = make('span');
      moveChildren(this, label);
      if (icon && this.getAttribute('icon-align') === 'right') {
        button.appendChild(label);
        button.appendChild(icon);
      } else {
        if (icon) {
          button.appendChild(icon);
        }
        button.appendChild(label);
      }
      if (!label.textContent.trim() && this.getAttribute('icon')) {
        button.setAttribute('aria-label', this.getAttribute('icon'));
      }
      this.appendChild(button);
      this.crowdSync(variant);
      var self = this;
      button.addEventListener('click', function () {
        var href = self.getAttribute('href');
        if (href && !self.hasAttribute('disabled')) {
          window.open(href, self.getAttribute('target') || '_self', 'noopener');
        }
      });
    }

    crowdSync(variant) {
      var button = this._crowdButton;
      if (!button) {
        return;
      }
      var v = variant || this.getAttribute('variant') || 'normal';
      var primary = v === 'primary' || (v === 'normal' && this.getAttribute('form-action') === 'submit' && !this.hasAttribute('variant'));
      button.className = 'crowd-local-btn' + (primary ? ' crowd-local-btn-primary' : '') +
        (v === 'link' ? ' crowd-local-btn-link' : '') + (v === 'icon' ? ' crowd-local-btn-icon' : '');
      var loading = this.hasAttribute('loading');
      button.disabled = this.hasAttribute('disabled') || loading;
      button.toggleAttribute('aria-busy', loading);
    }

    attributeChangedCallback() {
      this.crowdSync();
    }

    get disabled() {
      return this.hasAttribute('disabled');
    }

    set disabled(value) {
      this.toggleAttribute('disabled', Boolean(value));
    }
  }

  // ---------------------------------------------------------------- crowd-input / crowd-text-area

  /** Shared by crowd-input and crowd-text-area: a labelled text control. */
  class CrowdTextField extends CrowdField {
    crowdCreateControl() {
      return null;
    }

    crowdRender() {
      var id = uid('field');
      var control = internal(this.crowdCreateControl());
      control.id = id;
      control.classList.add('crowd-local-control');
      this._crowdControl = control;
      var labelText = this.getAttribute('label');
      var children = Array.prototype.slice.call(this.childNodes);
      if (labelText) {
        this.appendChild(make('label', { className: 'crowd-local-label', for: id }, labelText));
      } else {
        control.setAttribute('aria-label', this.getAttribute('placeholder') || this.name || 'text');
      }
      this.appendChild(control);
      // Text written inside the element (there is none in AWS's examples) stays as a hint.
      if (children.some(function (n) { return n.textContent.trim() !== ''; })) {
        var hint = make('div', { className: 'crowd-local-hint' });
        children.forEach(function (n) { hint.appendChild(n); });
        this.appendChild(hint);
      } else {
        children.forEach(function (n) { n.remove(); });
      }
      if (this.hasAttribute('placeholder')) {
        control.setAttribute('placeholder', this.getAttribute('placeholder'));
      }
      var maxLength = intAttr(this, 'max-length');
      if (maxLength !== null && maxLength >= 0) {
        control.maxLength = maxLength;
      }
      control.disabled = this.hasAttribute('disabled');
      control.required = this.hasAttribute('required');
      var initial = this._crowdPendingValue !== undefined ? this._crowdPendingValue : this.getAttribute('value');
      if (initial !== null && initial !== undefined) {
        control.value = initial;
      }
      this._crowdDefault = this.getAttribute('value') || '';
      this.crowdAfterRender(control);
      var self = this;
      control.addEventListener('input', function () {
        self.crowdFilterAllowed(control);
        self.crowdAfterInput(control);
        self.crowdRecheck();
      });
      if (this.hasAttribute('auto-focus')) {
        control.focus();
      }
    }

    crowdAfterRender() {}

    crowdAfterInput() {}

    /** With auto-validate, characters that do not match allowed-pattern are dropped as typed. */
    crowdFilterAllowed(control) {
      var pattern = this.getAttribute('allowed-pattern');
      if (!pattern || !this.hasAttribute('auto-validate')) {
        return;
      }
      var re;
      try {
        re = new RegExp(pattern);
      } catch (err) {
        return;
      }
      var before = control.value;
      var kept = Array.from(before).filter(function (ch) { return re.test(ch); }).join('');
      if (kept !== before) {
        var caret = control.selectionStart === null ? kept.length : Math.max(0, control.selectionStart - (before.length - kept.length));
        control.value = kept;
        try {
          control.setSelectionRange(caret, caret);
        } catch (ignored) {
          // Some input types (email, number) have no selection.
        }
      }
    }

    get value() {
      if (this._crowdControl) {
        return this._crowdControl.value;
      }
      if (this._crowdPendingValue !== undefined) {
        return this._crowdPendingValue;
      }
      return this.getAttribute('value') || '';
    }

    set value(v) {
      var text = v === null || v === undefined ? '' : String(v);
      if (this._crowdControl) {
        this._crowdControl.value = text;
      } else {
        this._crowdPendingValue = text;
      }
    }

    crowdValidate() {
      var value = this.value;
      var custom = this.getAttribute('error-message');
      if (value === '') {
        return this.required ? 'This field is required.' : null;
      }
      var minLength = intAttr(this, 'min-length');
      if (minLength !== null && Array.from(value).length < minLength) {
        return custom || 'Enter at least ' + minLength + ' characters.';
      }
      var maxLength = intAttr(this, 'max-length');
      if (maxLength !== null && Array.from(value).length > maxLength) {
        return custom || 'Enter at most ' + maxLength + ' characters.';
      }
      var control = this._crowdControl;
      if (control && control.validity && !control.validity.valid && !control.validity.valueMissing &&
          !control.validity.tooShort && !control.validity.tooLong) {
        return custom || control.validationMessage || 'This value is not valid.';
      }
      return null;
    }

    crowdFocusTarget() {
      return this._crowdControl || null;
    }

    crowdContribute(answer) {
      var value = this.value;
      if (value !== '') {
        answer[this.name] = value;
      }
    }

    crowdReset() {
      this.value = this._crowdDefault || '';
      this.crowdAfterInput(this._crowdControl);
      this.crowdShowError(null);
    }
  }

  class CrowdInput extends CrowdTextField {
    crowdCreateControl() {
      var type = (this.getAttribute('type') || 'text').toLowerCase();
      var input = make('input');
      try {
        input.type = type;
      } catch (ignored) {
        input.type = 'text';
      }
      ['min', 'max', 'step'].forEach(function (attr) {
        if (this.hasAttribute(attr)) {
          input.setAttribute(attr, this.getAttribute(attr));
        }
      }, this);
      // A worker may type decimals into a number field unless the template sets a step.
      if (input.type === 'number' && !this.hasAttribute('step')) {
        input.step = 'any';
      }
      return input;
    }

    crowdContribute(answer) {
      // A file cannot be uploaded anywhere locally; its name would be a misleading answer.
      if (this._crowdControl && this._crowdControl.type === 'file') {
        return;
      }
      CrowdTextField.prototype.crowdContribute.call(this, answer);
    }
  }

  class CrowdTextArea extends CrowdTextField {
    crowdCreateControl() {
      var rows = intAttr(this, 'rows');
      return make('textarea', { rows: rows !== null && rows > 0 ? rows : 3 });
    }

    crowdAfterRender(control) {
      if (this.hasAttribute('char-counter')) {
        this._crowdCounter = make('div', { className: 'crowd-local-hint', 'aria-live': 'polite' });
        this.appendChild(this._crowdCounter);
      }
      this.crowdAfterInput(control);
    }

    crowdAfterInput(control) {
      if (!control) {
        return;
      }
      var maxRows = intAttr(this, 'max-rows');
      if (maxRows !== null && maxRows > 0) {
        var lines = control.value.split('\n').length;
        var rows = intAttr(this, 'rows') || 3;
        control.rows = Math.max(rows, Math.min(maxRows, lines));
      }
      if (this._crowdCounter) {
        var max = intAttr(this, 'max-length');
        var length = Array.from(control.value).length;
        this._crowdCounter.textContent = max !== null ? length + ' / ' + max : String(length);
      }
    }
  }

  // ---------------------------------------------------------------- checkbox, radio, toggle

  /** A checkable element answering {name: {value: checked}}. */
  class CrowdCheckable extends CrowdField {
    crowdInputType() {
      return 'checkbox';
    }

    crowdGroupName() {
      return null;
    }

    crowdRender() {
      var input = internal(make('input', { type: this.crowdInputType() }));
      this._crowdControl = input;
      var group = this.crowdGroupName();
      if (group) {
        input.name = group;
      }
      input.checked = this._crowdPendingChecked !== undefined ? this._crowdPendingChecked : this.hasAttribute('checked');
      this._crowdDefaultChecked = this.hasAttribute('checked');
      input.disabled = this.hasAttribute('disabled');
      var label = make('label', { className: 'crowd-local-choice' });
      var text = make('span');
      moveChildren(this, text);
      label.appendChild(input);
      label.appendChild(text);
      if (!text.textContent.trim()) {
        input.setAttribute('aria-label', this.getAttribute('value') || this.name || this.localName);
      }
      this.crowdDecorate(input);
      this.appendChild(label);
      var self = this;
      input.addEventListener('change', function () {
        self.crowdRecheck();
        self.dispatchEvent(new Event('change', { bubbles: true }));
      });
    }

    crowdDecorate() {}

    get checked() {
      if (this._crowdControl) {
        return this._crowdControl.checked;
      }
      return this._crowdPendingChecked !== undefined ? this._crowdPendingChecked : this.hasAttribute('checked');
    }

    set checked(v) {
      if (this._crowdControl) {
        this._crowdControl.checked = Boolean(v);
      } else {
        this._crowdPendingChecked = Boolean(v);
      }
    }

    get value() {
      var value = this.getAttribute('value');
      return value === null ? 'on' : value;
    }

    set value(v) {
      this.setAttribute('value', v);
    }

    crowdValidate() {
      return this.required && !this.checked ? 'This must be selected.' : null;
    }

    crowdContribute(answer) {
      mergeBoolean(answer, this.name, this.value, this.checked);
    }

    crowdReset() {
      this.checked = this._crowdDefaultChecked;
      this.crowdShowError(null);
    }
  }

  class CrowdCheckbox extends CrowdCheckable {}

  class CrowdToggleButton extends CrowdCheckable {
    static get observedAttributes() {
      return ['invalid'];
    }

    crowdDecorate(input) {
      input.setAttribute('role', 'switch');
      input.classList.add('crowd-local-switch');
      this.classList.toggle('crowd-local-invalid-choice', this.hasAttribute('invalid'));
    }

    attributeChangedCallback() {
      this.classList.toggle('crowd-local-invalid-choice', this.hasAttribute('invalid'));
    }

    crowdValidate() {
      return this.required && !this.checked ? 'This must be switched on.' : null;
    }
  }

  class CrowdRadioButton extends CrowdCheckable {
    crowdInputType() {
      return 'radio';
    }

    /** Buttons of one group exclude each other; ungrouped buttons sharing a name do too. */
    crowdGroupName() {
      var group = this.closest('crowd-radio-group');
      if (group) {
        if (!group._crowdGroupId) {
          group._crowdGroupId = uid('radio-group');
        }
        return group._crowdGroupId;
      }
      return 'crowd-local-radio:' + this.name;
    }
  }

  class CrowdRadioGroup extends CrowdElement {
    crowdRender() {
      this.setAttribute('role', 'radiogroup');
    }
  }

  // ---------------------------------------------------------------- crowd-slider

  class CrowdSlider extends CrowdField {
    crowdRender() {
      var min = numberAttr(this, 'min', 0);
      var max = numberAttr(this, 'max', 100);
      var step = numberAttr(this, 'step', 1);
      var id = uid('slider');
      var range = internal(make('input', { type: 'range', id: id, min: min, max: max, step: step }));
      this._crowdControl = range;
      var initial = this._crowdPendingValue !== undefined ? this._crowdPendingValue : this.getAttribute('value');
      // Without a value the default is the middle, as for an HTML range (set explicitly:
      // the type is set before min/max, which would otherwise clamp the UA default of 50).
      range.value = initial !== null && initial !== undefined && String(initial).trim() !== ''
        ? String(initial)
        : String(max < min ? min : min + (max - min) / 2);
      this._crowdDefault = range.value;
      range.disabled = this.hasAttribute('disabled');
      var labelText = this.getAttribute('label');
      var children = make('div', { className: 'crowd-local-hint' });
      moveChildren(this, children);
      if (labelText) {
        this.appendChild(make('label', { className: 'crowd-local-label', for: id }, labelText));
      } else {
        range.setAttribute('aria-label', this.name || 'slider');
      }
      var row = make('div', { className: 'crowd-local-slider-row' });
      row.appendChild(range);
      var shown = make('output', { className: 'crowd-local-slider-value', for: id }, range.value);
      row.appendChild(shown);
      var box = null;
      if (this.hasAttribute('editable')) {
        box = internal(make('input', { type: 'number', min: min, max: max, step: step, className: 'crowd-local-control' }));
        box.setAttribute('aria-label', (labelText || this.name || 'slider') + ' value');
        box.value = range.value;
        box.disabled = range.disabled;
        row.appendChild(box);
        box.addEventListener('change', function () {
          range.value = box.value;
          box.value = range.value;
          shown.textContent = range.value;
        });
      }
      this.appendChild(row);
      if (children.textContent.trim()) {
        this.appendChild(children);
      }
      range.addEventListener('input', function () {
        shown.textContent = range.value;
        if (box) {
          box.value = range.value;
        }
      });
    }

    get value() {
      if (this._crowdControl) {
        return Number(this._crowdControl.value);
      }
      return numberAttr(this, 'value', null);
    }

    set value(v) {
      if (this._crowdControl) {
        this._crowdControl.value = String(v);
        this._crowdControl.dispatchEvent(new Event('input'));
      } else {
        this._crowdPendingValue = String(v);
      }
    }

    crowdContribute(answer) {
      var value = this.value;
      if (value !== null && Number.isFinite(value)) {
        answer[this.name] = value;
      }
    }

    crowdReset() {
      this.value = this._crowdDefault;
    }
  }

  // ---------------------------------------------------------------- classifiers

  /** crowd-classifier and its relatives: header, target, instructions, a choice. */
  class CrowdClassifierBase extends CrowdField {
    crowdMulti() {
      return false;
    }

    crowdRenderTarget(target) {
      regions(this, 'classification-target').forEach(function (region) {
        target.appendChild(region);
      });
    }

    crowdRender() {
      var wrapper = make('div', { className: 'crowd-local-classifier' });
      var header = this.getAttribute('header');
      if (header) {
        wrapper.appendChild(make('h2', null, header));
      }
      var columns = make('div', { className: 'crowd-local-columns' });
      var target = make('div', { className: 'crowd-local-target' });
      this.crowdRenderTarget(target);
      var side = make('div', { className: 'crowd-local-side' });
      regions(this, 'short-instructions').forEach(function (region) {
        var box = make('div', { className: 'crowd-local-short' });
        box.appendChild(region);
        side.appendChild(box);
      });
      var fieldset = make('fieldset');
      fieldset.appendChild(make('legend', null, this.crowdMulti() ? 'Choose all that apply' : 'Choose one'));
      var parsed = parseCategories(this.getAttribute('categories'));
      this._crowdCategories = parsed.list || [];
      this._crowdInputs = [];
      var group = uid('classifier');
      var self = this;
      if (parsed.error) {
        fieldset.appendChild(make('div', { className: 'crowd-local-error', role: 'alert' },
          'This classifier cannot be answered: ' + parsed.error + '.'));
      }
      this._crowdCategories.forEach(function (category, index) {
        var input = internal(make('input', { type: self.crowdMulti() ? 'checkbox' : 'radio', name: group }));
        input.value = String(index);
        input.disabled = self.hasAttribute('disabled');
        var label = make('label', { className: 'crowd-local-choice' });
        label.appendChild(input);
        label.appendChild(make('span', null, category));
        fieldset.appendChild(label);
        self._crowdInputs.push(input);
        input.addEventListener('change', function () {
          self.crowdRecheck();
        });
      });
      this._crowdFieldset = fieldset;
      side.appendChild(fieldset);
      this.crowdRenderExtras(side);
      regions(this, 'full-instructions').forEach(function (region) {
        var details = make('details', { className: 'crowd-local-full' });
        details.appendChild(make('summary', null, region.getAttribute('header') || 'Full instructions'));
        details.appendChild(region);
        side.appendChild(details);
      });
      columns.appendChild(target);
      columns.appendChild(side);
      wrapper.appendChild(columns);
      this.appendChild(wrapper);
      this._crowdError = make('div', { className: 'crowd-local-error', id: uid('error'), 'aria-live': 'polite' });
      fieldset.appendChild(this._crowdError);
    }

    crowdRenderExtras() {}

    crowdFocusTarget() {
      return this._crowdInputs && this._crowdInputs.length ? this._crowdInputs[0] : null;
    }

    crowdShowError(message) {
      CrowdField.prototype.crowdShowError.call(this, message);
      if (this._crowdFieldset) {
        this._crowdFieldset.toggleAttribute('aria-invalid', Boolean(message));
      }
    }

    /** The chosen categories, in the order they are listed. */
    crowdChosen() {
      var categories = this._crowdCategories || [];
      return (this._crowdInputs || []).filter(function (input) {
        return input.checked;
      }).map(function (input) {
        return categories[Number(input.value)];
      });
    }

    get value() {
      var chosen = this.crowdChosen();
      return this.crowdMulti() ? chosen : (chosen.length ? chosen[0] : null);
    }

    crowdValidate() {
      if (!this._crowdCategories || !this._crowdCategories.length) {
        return 'This classifier has no valid categories.';
      }
      if (!this.crowdChosen().length) {
        return this.crowdMulti() ? 'Choose at least one category.' : 'Choose a category.';
      }
      return null;
    }

    crowdContribute(answer) {
      var chosen = this.crowdChosen();
      if (!chosen.length) {
        return;
      }
      answer[this.name] = this.crowdMulti() ? { labels: chosen } : { label: chosen[0] };
    }

    crowdReset() {
      (this._crowdInputs || []).forEach(function (input) {
        input.checked = false;
      });
      this.crowdShowError(null);
    }
  }

  class CrowdClassifier extends CrowdClassifierBase {}

  class CrowdClassifierMultiSelect extends CrowdClassifierBase {
    crowdMulti() {
      return true;
    }
  }

  class CrowdImageClassifier extends CrowdClassifierBase {
    crowdRenderTarget(target) {
      var src = this.getAttribute('src');
      if (src) {
        target.appendChild(make('img', {
          className: 'crowd-local-image',
          src: src,
          alt: this.getAttribute('header') || 'The image to classify'
        }));
      } else {
        target.appendChild(make('p', { className: 'crowd-local-error' }, 'This classifier has no image (the src attribute is empty).'));
      }
      if (this.hasAttribute('overlay')) {
        target.appendChild(make('p', { className: 'crowd-local-note' },
          'The overlay of a verification task is not drawn by a2i-local.'));
      }
    }

    crowdRenderExtras(side) {
      var region = regions(this, 'worker-comment')[0];
      if (!region) {
        return;
      }
      var box = make('div', { className: 'crowd-local-comment' });
      var id = uid('comment');
      var toggle = internal(make('button', {
        type: 'button',
        className: 'crowd-local-btn crowd-local-btn-link',
        'aria-expanded': 'false',
        'aria-controls': id
      }, region.getAttribute('link-text') || 'Add a comment'));
      var panel = make('div', { id: id, hidden: true });
      var header = region.getAttribute('header');
      var areaId = uid('comment-text');
      if (header) {
        panel.appendChild(make('label', { className: 'crowd-local-label', for: areaId }, header));
      }
      var area = internal(make('textarea', { id: areaId, rows: 3, className: 'crowd-local-control' }));
      if (!header) {
        area.setAttribute('aria-label', 'Comment');
      }
      if (region.getAttribute('placeholder')) {
        area.setAttribute('placeholder', region.getAttribute('placeholder'));
      }
      panel.appendChild(area);
      toggle.addEventListener('click', function () {
        panel.hidden = !panel.hidden;
        toggle.setAttribute('aria-expanded', String(!panel.hidden));
        if (!panel.hidden) {
          area.focus();
        }
      });
      region.hidden = true;
      box.appendChild(toggle);
      box.appendChild(panel);
      box.appendChild(region);
      side.appendChild(box);
      this._crowdComment = area;
    }

    crowdContribute(answer) {
      CrowdClassifierBase.prototype.crowdContribute.call(this, answer);
      var comment = this._crowdComment ? this._crowdComment.value : '';
      if (comment !== '' && isPlainObject(answer[this.name])) {
        answer[this.name].workerComment = comment;
      }
    }

    crowdReset() {
      CrowdClassifierBase.prototype.crowdReset.call(this);
      if (this._crowdComment) {
        this._crowdComment.value = '';
      }
    }
  }

  // ---------------------------------------------------------------- A2I built-in task types

  /** The answerContent key of crowd-textract-analyze-document (A2I's request source). */
  var TEXTRACT_KEY = 'AWS/Textract/AnalyzeDocument/Forms/V1';
  /** The answerContent key of crowd-rekognition-detect-moderation-labels. */
  var REKOGNITION_KEY = 'AWS/Rekognition/DetectModerationLabels/Image/V3';
  /** The most blocks / categories an element takes from its attributes (a page stays usable). */
  var MAX_BLOCKS = 20000;
  var MAX_CATEGORIES = 1000;

  /** Parses a JSON attribute; returns {value} or {error} (the error never repeats the text). */
  function jsonAttr(host, name) {
    var raw = host.getAttribute(name);
    if (raw === null || raw.trim() === '') {
      return { missing: true };
    }
    try {
      return { value: JSON.parse(raw) };
    } catch (err) {
      return { error: 'the ' + name + ' attribute is not valid JSON' };
    }
  }

  /** A random RFC 4122 version 4 id, the form Textract gives its block ids. */
  function newBlockId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  }

  /** The image (or document) panel: an <img> of src, or a note when there is none. */
  function mediaPanel(host, what) {
    var target = make('div', { className: 'crowd-local-target' });
    var src = host.getAttribute('src');
    if (!src) {
      target.appendChild(make('p', { className: 'crowd-local-error' },
        'There is no ' + what + ' to show (the src attribute is empty).'));
      return target;
    }
    // The figure holds the image and, for Textract, the boxes drawn over it.
    var figure = make('div', { className: 'crowd-local-figure' });
    var image = make('img', { className: 'crowd-local-image', src: src, alt: 'The ' + what + ' under review' });
    image.addEventListener('error', function () {
      // PDF and TIFF documents cannot be shown as an image: offer them to open instead.
      var note = make('p', { className: 'crowd-local-note' }, 'The ' + what + ' cannot be shown here. ');
      note.appendChild(make('a', { href: src, target: '_blank', rel: 'noopener noreferrer' }, 'Open the ' + what));
      figure.replaceWith(note);
    }, { once: true });
    figure.appendChild(image);
    target.appendChild(figure);
    host._crowdFigure = figure;
    return target;
  }

  function unitNumber(value) {
    return typeof value === 'number' && Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : null;
  }

  /**
   * Where a block sits on the page, as fractions {left, top, width, height}: its
   * geometry.boundingBox, else the bounds of its geometry.polygon; null without either.
   */
  function blockBox(block) {
    var geometry = block && isPlainObject(block.geometry) ? block.geometry : null;
    if (!geometry) {
      return null;
    }
    var box = geometry.boundingBox;
    if (isPlainObject(box)) {
      var left = unitNumber(box.left);
      var top = unitNumber(box.top);
      var width = unitNumber(box.width);
      var height = unitNumber(box.height);
      if (left !== null && top !== null && width !== null && height !== null) {
        return { left: left, top: top, width: Math.min(width, 1 - left), height: Math.min(height, 1 - top) };
      }
    }
    if (Array.isArray(geometry.polygon)) {
      var xs = [];
      var ys = [];
      geometry.polygon.slice(0, 64).forEach(function (point) {
        if (isPlainObject(point) && unitNumber(point.x) !== null && unitNumber(point.y) !== null) {
          xs.push(unitNumber(point.x));
          ys.push(unitNumber(point.y));
        }
      });
      if (xs.length) {
        var minX = Math.min.apply(null, xs);
        var minY = Math.min.apply(null, ys);
        return { left: minX, top: minY, width: Math.max.apply(null, xs) - minX, height: Math.max.apply(null, ys) - minY };
      }
    }
    return null;
  }

  /** The instruction regions of an element, moved into its side column. */
  function instructionRegions(host, side) {
    regions(host, 'short-instructions').forEach(function (region) {
      var box = make('div', { className: 'crowd-local-short' });
      box.appendChild(region);
      side.appendChild(box);
    });
    regions(host, 'full-instructions').forEach(function (region) {
      var details = make('details', { className: 'crowd-local-full' });
      details.appendChild(make('summary', null, region.getAttribute('header') || 'Full instructions'));
      details.appendChild(region);
      side.appendChild(details);
    });
  }

  /** The ids of a block's relationships of one type, in order. */
  function relatedIds(block, type) {
    var out = [];
    if (!block || !Array.isArray(block.relationships)) {
      return out;
    }
    block.relationships.forEach(function (rel) {
      if (rel && rel.type === type && Array.isArray(rel.ids)) {
        rel.ids.forEach(function (id) {
          if (typeof id === 'string') {
            out.push(id);
          }
        });
      }
    });
    return out;
  }

  function hasEntity(block, entity) {
    return Array.isArray(block.entityTypes) && block.entityTypes.indexOf(entity) >= 0;
  }

  /** Folds a key's text for matching important keys: case, spacing and a trailing colon. */
  function foldKey(text) {
    return String(text).toLowerCase().replace(/\s+/g, ' ').trim().replace(/\s*:$/, '');
  }

  /**
   * crowd-textract-analyze-document: the document beside its key-value pairs (KEY_VALUE_SET
   * blocks of initial-value, with their WORD children as editable text), plus a row for each
   * important key (keys) that no pair has. Answers {TEXTRACT_KEY: {blocks: [...]}}: the KEY and
   * VALUE blocks with their relationships and the WORD blocks with the reviewer's text.
   */
  class CrowdTextractAnalyzeDocument extends CrowdField {
    get name() {
      return TEXTRACT_KEY;
    }

    set name(value) {
      // The answer key is fixed by A2I (the request source); a name attribute cannot change it.
    }

    crowdRender() {
      var self = this;
      this._crowdProblem = null;
      this._crowdRows = [];
      var wrapper = make('div', { className: 'crowd-local-classifier crowd-local-builtin' });
      var header = this.getAttribute('header');
      if (header) {
        wrapper.appendChild(make('h2', null, header));
      }
      var columns = make('div', { className: 'crowd-local-columns' });
      columns.appendChild(mediaPanel(this, 'document'));
      var side = make('div', { className: 'crowd-local-side' });
      var fieldset = make('fieldset', { className: 'crowd-local-pairs' });
      fieldset.appendChild(make('legend', null, 'Form fields'));
      this._crowdFieldset = fieldset;
      this._crowdKeyEdit = !this.hasAttribute('no-key-edit');

      var types = jsonAttr(this, 'block-types');
      if (types.value !== undefined && !(Array.isArray(types.value) && types.value.every(function (t) { return t === 'KEY_VALUE_SET'; }))) {
        fieldset.appendChild(make('p', { className: 'crowd-local-note' },
          'Only KEY_VALUE_SET blocks are reviewed here; the other block types in block-types are ignored.'));
      }
      var initial = jsonAttr(this, 'initial-value');
      var blocks = [];
      if (initial.error) {
        this._crowdProblem = initial.error;
      } else if (initial.value !== undefined && !Array.isArray(initial.value)) {
        this._crowdProblem = 'the initial-value attribute is not a JSON array of blocks';
      } else if (Array.isArray(initial.value) && initial.value.length > MAX_BLOCKS) {
        this._crowdProblem = 'the initial-value attribute has more than ' + MAX_BLOCKS + ' blocks';
      } else if (Array.isArray(initial.value)) {
        blocks = initial.value.filter(isPlainObject);
      }
      var keys = jsonAttr(this, 'keys');
      var important = [];
      if (keys.error) {
        this._crowdProblem = this._crowdProblem || keys.error;
      } else if (Array.isArray(keys.value)) {
        important = keys.value.filter(function (k) {
          return isPlainObject(k) && (typeof k.importantFormKey === 'string' || typeof k.importantFormKey === 'number');
        }).slice(0, MAX_CATEGORIES);
      }
      if (this._crowdProblem) {
        fieldset.appendChild(make('div', { className: 'crowd-local-error', role: 'alert' },
          'This task cannot be answered: ' + this._crowdProblem + '.'));
      }

      var byId = {};
      blocks.forEach(function (block) {
        if (typeof block.id === 'string') {
          byId[block.id] = block;
        }
      });
      this._crowdById = byId;
      var list = make('div', { className: 'crowd-local-pair-list' });
      var seenKeys = [];
      blocks.forEach(function (block) {
        if (block.blockType !== 'KEY_VALUE_SET' || !hasEntity(block, 'KEY')) {
          return;
        }
        var valueBlocks = relatedIds(block, 'VALUE').map(function (id) { return byId[id]; }).filter(Boolean);
        var row = self.crowdPairRow({ key: block, values: valueBlocks });
        seenKeys.push(foldKey(row.keyInput.value));
        list.appendChild(row.element);
      });
      // Important keys no pair has: a row to type the value into.
      var added = [];
      important.forEach(function (entry) {
        var names = [entry.importantFormKey].concat(Array.isArray(entry.importantFormKeyAliases) ? entry.importantFormKeyAliases : [])
          .map(foldKey);
        var folded = foldKey(entry.importantFormKey);
        if (added.indexOf(folded) >= 0 || names.some(function (n) { return seenKeys.indexOf(n) >= 0; })) {
          return;
        }
        added.push(folded);
        var row = self.crowdPairRow({ missing: String(entry.importantFormKey) });
        list.appendChild(row.element);
      });
      if (!this._crowdRows.length && !this._crowdProblem) {
        list.appendChild(make('p', { className: 'crowd-local-note' }, 'There are no form fields to review.'));
      }
      fieldset.appendChild(list);
      this._crowdList = list;
      if (this._crowdKeyEdit) {
        var add = internal(make('button', { type: 'button', className: 'crowd-local-btn crowd-local-add-pair' }, 'Add a field'));
        add.addEventListener('click', function () {
          var row = self.crowdPairRow({ fresh: true });
          list.appendChild(row.element);
          row.keyInput.focus();
        });
        fieldset.appendChild(add);
      }
      this._crowdError = make('div', { className: 'crowd-local-error', id: uid('error'), 'aria-live': 'polite' });
      fieldset.appendChild(this._crowdError);
      side.appendChild(fieldset);
      instructionRegions(this, side);
      columns.appendChild(side);
      wrapper.appendChild(columns);
      this.appendChild(wrapper);
    }

    /** The WORD children of a block (other children, such as selection elements, apart). */
    crowdChildren(block) {
      var byId = this._crowdById;
      var words = [];
      var others = [];
      relatedIds(block, 'CHILD').forEach(function (id) {
        var child = byId[id];
        if (child && child.blockType === 'WORD') {
          words.push(child);
        } else if (child) {
          others.push(child);
        }
      });
      return { words: words, others: others };
    }

    /** One editable row: {element, keyInput, valueInput}; kept in this._crowdRows. */
    crowdPairRow(spec) {
      var self = this;
      var index = this._crowdRows.length + 1;
      var row = { spec: spec };
      var element = make('div', { className: 'crowd-local-pair' + (spec.missing !== undefined ? ' crowd-local-pair-missing' : '') });
      var keyId = uid('key');
      var valueId = uid('value');
      var keyText = '';
      var valueText = '';
      row.keyWords = [];
      row.valueWords = [];
      row.valueOthers = [];
      if (spec.key) {
        row.keyWords = this.crowdChildren(spec.key).words;
        keyText = row.keyWords.map(function (w) { return typeof w.text === 'string' ? w.text : ''; }).join(' ');
        spec.values.forEach(function (value) {
          var children = self.crowdChildren(value);
          row.valueWords = row.valueWords.concat(children.words);
          row.valueOthers = row.valueOthers.concat(children.others);
        });
        valueText = row.valueWords.map(function (w) { return typeof w.text === 'string' ? w.text : ''; }).join(' ');
      } else if (spec.missing !== undefined) {
        keyText = spec.missing;
      }
      row.initialKey = keyText;
      row.initialValue = valueText;
      element.appendChild(make('label', { className: 'crowd-local-label', for: keyId },
        spec.missing !== undefined ? 'Field ' + index + ' (not found in the document)' : 'Field ' + index + ' key'));
      var keyInput = internal(make('input', { type: 'text', id: keyId, className: 'crowd-local-control crowd-local-key' }));
      keyInput.value = keyText;
      // A missing important key keeps its name; keys of found pairs only with key editing on.
      keyInput.readOnly = spec.fresh ? false : (spec.missing !== undefined || !this._crowdKeyEdit);
      element.appendChild(keyInput);
      element.appendChild(make('label', { className: 'crowd-local-label', for: valueId }, 'Value'));
      var valueInput = internal(make('input', { type: 'text', id: valueId, className: 'crowd-local-control crowd-local-value' }));
      valueInput.value = valueText;
      if (spec.missing !== undefined) {
        valueInput.setAttribute('placeholder', 'Type the value if the document has one');
      }
      element.appendChild(valueInput);
      row.valueOthers.forEach(function (other) {
        var status = typeof other.selectionStatus === 'string' ? other.selectionStatus : other.blockType;
        element.appendChild(make('div', { className: 'crowd-local-hint' }, 'Also in the value (kept as read): ' + String(status)));
      });
      keyInput.disabled = valueInput.disabled = this.hasAttribute('disabled');
      [keyInput, valueInput].forEach(function (input) {
        input.addEventListener('input', function () {
          element.classList.toggle('crowd-local-pair-changed',
            keyInput.value !== row.initialKey || valueInput.value !== row.initialValue);
          self.crowdRecheck();
        });
      });
      row.element = element;
      row.keyInput = keyInput;
      row.valueInput = valueInput;
      row.boxes = [];
      if (spec.key && this._crowdFigure) {
        // Where the pair is on the document (shown only; geometry is not editable here).
        [[spec.key, 'key']].concat(spec.values.map(function (v) { return [v, 'value']; })).forEach(function (pair) {
          var box = blockBox(pair[0]);
          if (!box) {
            return;
          }
          var mark = make('div', { className: 'crowd-local-box crowd-local-box-' + pair[1], 'data-field': String(index), title: 'Field ' + index + ' ' + pair[1] });
          mark.style.left = (box.left * 100) + '%';
          mark.style.top = (box.top * 100) + '%';
          mark.style.width = (box.width * 100) + '%';
          mark.style.height = (box.height * 100) + '%';
          mark.addEventListener('click', function () {
            valueInput.focus();
          });
          self._crowdFigure.appendChild(mark);
          row.boxes.push(mark);
        });
      }
      element.addEventListener('focusin', function () {
        self._crowdRows.forEach(function (other) {
          other.boxes.forEach(function (mark) {
            mark.classList.toggle('crowd-local-box-active', other === row);
          });
        });
      });
      this._crowdRows.push(row);
      return row;
    }

    crowdFocusTarget() {
      var row = (this._crowdRows || [])[0];
      return row ? row.valueInput : null;
    }

    crowdLabel() {
      return this.getAttribute('header') || 'Form fields';
    }

    crowdValidate() {
      if (this._crowdProblem) {
        return 'This task cannot be answered: ' + this._crowdProblem + '.';
      }
      var empty = (this._crowdRows || []).filter(function (row) {
        return row.spec.fresh && row.valueInput.value.trim() !== '' && row.keyInput.value.trim() === '';
      });
      return empty.length ? 'An added field has a value but no key.' : null;
    }

    /** Text as WORD blocks: the old words' ids are reused in order, new words get new ids. */
    crowdWords(text, oldWords, out) {
      var tokens = text.split(/\s+/).filter(function (t) { return t !== ''; });
      return tokens.map(function (token, i) {
        var old = oldWords[i];
        var id = old && typeof old.id === 'string' ? old.id : newBlockId();
        out.push({ blockType: 'WORD', id: id, text: token });
        return id;
      });
    }

    /** The answer's blocks, as A2I's own element gives them. */
    crowdBlocks() {
      var self = this;
      var out = [];
      (this._crowdRows || []).forEach(function (row) {
        var keyText = row.keyInput.value;
        var valueText = row.valueInput.value;
        if (!row.spec.key && valueText.trim() === '') {
          return; // an unfilled missing key or added row is no answer
        }
        var words = [];
        var keyWordIds = self.crowdWords(keyText, row.keyWords, words);
        var valueWordIds = self.crowdWords(valueText, row.valueWords, words);
        row.valueOthers.forEach(function (other) {
          if (typeof other.id === 'string') {
            valueWordIds.push(other.id);
            var copy = { blockType: other.blockType, id: other.id };
            if (other.selectionStatus !== undefined) {
              copy.selectionStatus = other.selectionStatus;
            }
            words.push(copy);
          }
        });
        var keyBlock = row.spec.key;
        var valueBlock = keyBlock ? row.spec.values[0] : null;
        var keyId = keyBlock && typeof keyBlock.id === 'string' ? keyBlock.id : newBlockId();
        var valueId = valueBlock && typeof valueBlock.id === 'string' ? valueBlock.id : newBlockId();
        var key = { blockType: 'KEY_VALUE_SET', id: keyId, entityTypes: ['KEY'], relationships: [{ type: 'VALUE', ids: [valueId] }] };
        if (keyWordIds.length) {
          key.relationships.push({ type: 'CHILD', ids: keyWordIds });
        }
        var value = { blockType: 'KEY_VALUE_SET', id: valueId, entityTypes: ['VALUE'], relationships: [] };
        if (valueWordIds.length) {
          value.relationships.push({ type: 'CHILD', ids: valueWordIds });
        }
        // The model's confidence stays on the pair it came with (as in A2I's real output).
        if (keyBlock && typeof keyBlock.confidence === 'number') {
          key.confidence = keyBlock.confidence;
        }
        if (valueBlock && typeof valueBlock.confidence === 'number') {
          value.confidence = valueBlock.confidence;
        }
        out.push.apply(out, words);
        out.push(key, value);
      });
      return out;
    }

    get value() {
      return { blocks: this.crowdBlocks() };
    }

    crowdContribute(answer) {
      if (this._crowdProblem) {
        return;
      }
      answer[TEXTRACT_KEY] = { blocks: this.crowdBlocks() };
    }

    crowdReset() {
      var rows = this._crowdRows || [];
      this._crowdRows = rows.filter(function (row) {
        if (row.spec.fresh) {
          row.element.remove();
          return false;
        }
        row.keyInput.value = row.initialKey;
        row.valueInput.value = row.initialValue;
        row.element.classList.remove('crowd-local-pair-changed');
        return true;
      });
      this.crowdShowError(null);
    }
  }

  /**
   * crowd-rekognition-detect-moderation-labels: the image beside a checkbox per category and an
   * exclusion button that clears them. Answers {REKOGNITION_KEY: {moderationLabels: [...]}}:
   * the chosen categories as given (strings or objects), [] after the exclusion.
   */
  class CrowdRekognitionDetectModerationLabels extends CrowdField {
    get name() {
      return REKOGNITION_KEY;
    }

    set name(value) {
      // Fixed by A2I, as for crowd-textract-analyze-document.
    }

    crowdRender() {
      var self = this;
      this._crowdProblem = null;
      this._crowdInputs = [];
      this._crowdExcluded = false;
      var wrapper = make('div', { className: 'crowd-local-classifier crowd-local-builtin' });
      var header = this.getAttribute('header');
      if (header) {
        wrapper.appendChild(make('h2', null, header));
      }
      var columns = make('div', { className: 'crowd-local-columns' });
      columns.appendChild(mediaPanel(this, 'image'));
      var side = make('div', { className: 'crowd-local-side' });
      var fieldset = make('fieldset');
      fieldset.appendChild(make('legend', null, 'Choose all that apply'));
      this._crowdFieldset = fieldset;
      var parsed = jsonAttr(this, 'categories');
      var categories = [];
      if (parsed.error) {
        // AWS's examples also write ['a', 'b']: the classifiers' parser reads that form.
        var quoted = parseCategories(this.getAttribute('categories'));
        if (quoted.list) {
          categories = quoted.list;
        } else {
          this._crowdProblem = parsed.error;
        }
      } else if (parsed.missing) {
        categories = [];
      } else if (!Array.isArray(parsed.value)) {
        this._crowdProblem = 'the categories attribute is not a JSON array';
      } else if (parsed.value.length > MAX_CATEGORIES) {
        this._crowdProblem = 'the categories attribute has more than ' + MAX_CATEGORIES + ' categories';
      } else if (!parsed.value.every(function (c) { return typeof c === 'string' || (isPlainObject(c) && typeof c.name === 'string'); })) {
        this._crowdProblem = 'each category must be a string or an object with a string name';
      } else {
        categories = parsed.value;
      }
      this._crowdCategories = categories;
      if (this._crowdProblem) {
        fieldset.appendChild(make('div', { className: 'crowd-local-error', role: 'alert' },
          'This task cannot be answered: ' + this._crowdProblem + '.'));
      }
      categories.forEach(function (category, index) {
        var input = internal(make('input', { type: 'checkbox' }));
        input.value = String(index);
        input.disabled = self.hasAttribute('disabled');
        var label = make('label', { className: 'crowd-local-choice' });
        label.appendChild(input);
        var text = make('span', null, typeof category === 'string' ? category : category.name);
        if (isPlainObject(category) && typeof category.parentName === 'string' && category.parentName !== '') {
          text.appendChild(make('span', { className: 'crowd-local-hint' }, ' (in ' + category.parentName + ')'));
        }
        label.appendChild(text);
        fieldset.appendChild(label);
        self._crowdInputs.push(input);
        input.addEventListener('change', function () {
          if (input.checked) {
            self.crowdSetExcluded(false);
          }
          self.crowdRecheck();
        });
      });
      var exclusion = this.crowdExclusion();
      if (exclusion !== null) {
        var button = internal(make('button', {
          type: 'button',
          className: 'crowd-local-btn crowd-local-exclusion',
          'aria-pressed': 'false'
        }, exclusion));
        button.addEventListener('click', function () {
          self.crowdSetExcluded(!self._crowdExcluded);
          self.crowdRecheck();
        });
        this._crowdExclusionButton = button;
        fieldset.appendChild(button);
      }
      this._crowdError = make('div', { className: 'crowd-local-error', id: uid('error'), 'aria-live': 'polite' });
      fieldset.appendChild(this._crowdError);
      side.appendChild(fieldset);
      instructionRegions(this, side);
      columns.appendChild(side);
      wrapper.appendChild(columns);
      this.appendChild(wrapper);
    }

    /** The exclusion button's text: exclusion-category as {name}, a JSON string or plain text. */
    crowdExclusion() {
      var raw = this.getAttribute('exclusion-category');
      if (raw === null) {
        return null;
      }
      var parsed = jsonAttr(this, 'exclusion-category');
      if (isPlainObject(parsed.value) && typeof parsed.value.name === 'string' && parsed.value.name !== '') {
        return parsed.value.name;
      }
      if (typeof parsed.value === 'string' && parsed.value !== '') {
        return parsed.value;
      }
      // AWS's examples write a JavaScript object ({name: 'None of the above'}), not JSON.
      var loose = /name\s*:\s*(["'])((?:(?!\1).)*)\1/.exec(raw);
      if (loose && loose[2] !== '') {
        return loose[2];
      }
      return raw.trim() && parsed.error ? raw.trim() : 'None of these apply';
    }

    crowdSetExcluded(excluded) {
      this._crowdExcluded = Boolean(excluded) && Boolean(this._crowdExclusionButton);
      if (this._crowdExcluded) {
        this._crowdInputs.forEach(function (input) {
          input.checked = false;
        });
      }
      if (this._crowdExclusionButton) {
        this._crowdExclusionButton.setAttribute('aria-pressed', String(this._crowdExcluded));
        this._crowdExclusionButton.classList.toggle('crowd-local-btn-primary', this._crowdExcluded);
      }
    }

    crowdChosen() {
      var categories = this._crowdCategories || [];
      return (this._crowdInputs || []).filter(function (input) {
        return input.checked;
      }).map(function (input) {
        return categories[Number(input.value)];
      });
    }

    crowdFocusTarget() {
      return (this._crowdInputs && this._crowdInputs[0]) || this._crowdExclusionButton || null;
    }

    crowdShowError(message) {
      CrowdField.prototype.crowdShowError.call(this, message);
      if (this._crowdFieldset) {
        this._crowdFieldset.toggleAttribute('aria-invalid', Boolean(message));
      }
    }

    crowdLabel() {
      return this.getAttribute('header') || 'Moderation labels';
    }

    crowdValidate() {
      if (this._crowdProblem) {
        return 'This task cannot be answered: ' + this._crowdProblem + '.';
      }
      // With an exclusion button, "none" is a choice to make, not a blank to leave.
      if (this._crowdExclusionButton && !this._crowdExcluded && !this.crowdChosen().length) {
        return 'Choose at least one category, or "' + this._crowdExclusionButton.textContent + '".';
      }
      return null;
    }

    get value() {
      return { moderationLabels: this._crowdExcluded ? [] : this.crowdChosen() };
    }

    crowdContribute(answer) {
      if (this._crowdProblem) {
        return;
      }
      // Copies: a script changing the answer must not change the categories.
      answer[REKOGNITION_KEY] = JSON.parse(JSON.stringify(this.value));
    }

    crowdReset() {
      (this._crowdInputs || []).forEach(function (input) {
        input.checked = false;
      });
      this.crowdSetExcluded(false);
      this.crowdShowError(null);
    }
  }

  // ---------------------------------------------------------------- alert, card, instructions

  class CrowdAlert extends CrowdElement {
    static get observedAttributes() {
      return ['type'];
    }

    crowdRender() {
      var body = make('div', { className: 'crowd-local-alert-body' });
      moveChildren(this, body);
      var box = make('div');
      box.appendChild(body);
      this._crowdBox = box;
      if (this.hasAttribute('dismissible')) {
        var close = internal(make('button', { type: 'button', className: 'crowd-local-alert-close', 'aria-label': 'Dismiss' }, '\u00d7'));
        var self = this;
        close.addEventListener('click', function () {
          self.hidden = true;
          self.dispatchEvent(new Event('crowd-alert-dismissed', { bubbles: true }));
        });
        box.appendChild(close);
      }
      this.appendChild(box);
      this.crowdSyncType();
    }

    crowdSyncType() {
      if (!this._crowdBox) {
        return;
      }
      var type = this.getAttribute('type');
      if (['info', 'success', 'error', 'warning'].indexOf(type) < 0) {
        type = 'info';
      }
      this._crowdBox.className = 'crowd-local-alert crowd-local-alert-' + type;
      this._crowdBox.setAttribute('role', type === 'error' || type === 'warning' ? 'alert' : 'status');
    }

    attributeChangedCallback() {
      this.crowdSyncType();
    }
  }

  class CrowdCard extends CrowdElement {
    crowdRender() {
      var card = make('div', { className: 'crowd-local-card' });
      var heading = this.getAttribute('heading');
      var image = this.getAttribute('image');
      if (image) {
        card.appendChild(make('img', { src: image, alt: heading || '' }));
      }
      if (heading) {
        card.appendChild(make('h3', null, heading));
      }
      var body = make('div');
      moveChildren(this, body);
      card.appendChild(body);
      this.appendChild(card);
    }
  }

  class CrowdInstructions extends CrowdElement {
    crowdRender() {
      var self = this;
      var dialog = make('dialog', { className: 'crowd-local-dialog crowd-local', 'aria-label': 'Instructions' });
      dialog.appendChild(make('h2', null, 'Instructions'));
      var sections = [
        ['short-summary', 'Summary'],
        ['detailed-instructions', 'Detailed instructions'],
        ['positive-example', 'Good examples'],
        ['negative-example', 'Bad examples']
      ];
      sections.forEach(function (pair) {
        var found = regions(self, pair[0]);
        if (found.length) {
          dialog.appendChild(make('h3', null, pair[1]));
          found.forEach(function (region) {
            dialog.appendChild(region);
          });
        }
      });
      var leftover = make('div');
      moveChildren(this, leftover);
      if (leftover.textContent.trim()) {
        dialog.appendChild(leftover);
      }
      var close = internal(make('button', { type: 'button', className: 'crowd-local-btn' }, 'Close'));
      close.addEventListener('click', function () {
        dialog.close();
      });
      var actions = make('div', { className: 'crowd-local-actions' });
      actions.appendChild(close);
      dialog.appendChild(actions);
      var asButton = this.getAttribute('link-type') === 'button';
      var open = internal(make('button', {
        type: 'button',
        className: asButton ? 'crowd-local-btn' : 'crowd-local-btn crowd-local-btn-link',
        'aria-haspopup': 'dialog'
      }, this.getAttribute('link-text') || 'Click for instructions'));
      open.addEventListener('click', function () {
        dialog.showModal();
      });
      this.appendChild(open);
      this.appendChild(dialog);
    }
  }

  // ---------------------------------------------------------------- unsupported elements

  var SUPPORTED = [
    'crowd-form', 'crowd-button', 'crowd-input', 'crowd-text-area', 'crowd-checkbox',
    'crowd-radio-group', 'crowd-radio-button', 'crowd-toggle-button', 'crowd-slider',
    'crowd-classifier', 'crowd-classifier-multi-select', 'crowd-image-classifier', 'crowd-alert',
    'crowd-card', 'crowd-instructions', 'crowd-textract-analyze-document',
    'crowd-rekognition-detect-moderation-labels'
  ];

  class CrowdUnsupported extends CrowdElement {
    crowdRender() {
      var box = make('div', { className: 'crowd-local-unsupported-box', role: 'note' });
      box.appendChild(make('strong', null, 'Not supported locally: <' + this.localName + '>.'));
      var name = this.getAttribute('name');
      var text = ' a2i-local does not implement this Crowd HTML Element, so this part of the task cannot be answered here' +
        (name ? '; the answer "' + name + '" will be missing from answerContent.' : '.');
      box.appendChild(document.createTextNode(text));
      this.insertBefore(box, this.firstChild);
    }
  }

  function defineUnsupported(tag) {
    if (customElements.get(tag)) {
      return;
    }
    try {
      customElements.define(tag, class extends CrowdUnsupported {});
    } catch (err) {
      // Not a valid custom element name (cannot happen for crowd-x) or defined meanwhile.
    }
  }

  function isCrowdTag(node) {
    return node.nodeType === 1 && node.localName.indexOf('crowd-') === 0 && node.localName.length > 6;
  }

  function scanUnsupported(root) {
    if (isCrowdTag(root)) {
      defineUnsupported(root.localName);
    }
    if (root.querySelectorAll) {
      Array.prototype.forEach.call(root.querySelectorAll('*'), function (node) {
        if (isCrowdTag(node)) {
          defineUnsupported(node.localName);
        }
      });
    }
  }

  // ---------------------------------------------------------------- crowd-form

  function firstUrl(form, attr, globalName, fromScript) {
    var own = form.getAttribute(attr);
    if (own) {
      return own;
    }
    if (typeof window[globalName] === 'string' && window[globalName]) {
      return window[globalName];
    }
    return fromScript || null;
  }

  /** Named native controls that belong to the page (not ones this script created). */
  function nativeControls(root) {
    return Array.prototype.filter.call(root.querySelectorAll('input[name],select[name],textarea[name]'), function (control) {
      return !control.hasAttribute(INTERNAL) && control.name !== '';
    });
  }

  class CrowdForm extends CrowdElement {
    crowdRender() {
      var self = this;
      this.setAttribute('role', 'form');
      this._crowdErrors = make('div', { className: 'crowd-local-form-errors', role: 'alert', hidden: true });
      this.insertBefore(this._crowdErrors, this.firstChild);
      var actions = make('div', { className: 'crowd-local-actions' });
      this._crowdActions = actions;
      var unsupported = Array.prototype.filter.call(this.querySelectorAll('*'), function (node) {
        return isCrowdTag(node) && SUPPORTED.indexOf(node.localName) < 0;
      }).map(function (node) { return node.localName; });
      if (unsupported.length) {
        var unique = unsupported.filter(function (tag, i) { return unsupported.indexOf(tag) === i; });
        actions.appendChild(make('span', { className: 'crowd-local-note' },
          'Not supported locally (answers will be missing): ' + unique.join(', ')));
      }
      if (firstUrl(this, 'data-release-url', 'CROWD_LOCAL_RELEASE_URL', SCRIPT_RELEASE_URL)) {
        var release = internal(make('button', { type: 'button', className: 'crowd-local-btn crowd-local-release' }, 'Release task'));
        release.addEventListener('click', function () {
          self.release();
        });
        actions.appendChild(release);
      }
      if (!this.querySelector('crowd-button[form-action="submit"]')) {
        var submit = internal(make('button', { type: 'button', className: 'crowd-local-btn crowd-local-btn-primary crowd-local-submit' }, 'Submit'));
        actions.appendChild(submit);
        submit.addEventListener('click', function () {
          self.submit();
        });
      }
      if (actions.firstChild) {
        this.appendChild(actions);
      }
      this._crowdResult = make('div', { className: 'crowd-local-result', 'aria-live': 'polite' });
      this.appendChild(this._crowdResult);
      this.addEventListener('click', function (event) {
        var target = event.target;
        var crowdButton = target.closest ? target.closest('crowd-button') : null;
        if (crowdButton && self.contains(crowdButton) && !crowdButton.hasAttribute('disabled') && !crowdButton.hasAttribute('loading')) {
          var action = crowdButton.getAttribute('form-action');
          if (action === 'submit') {
            self.submit();
          } else if (action === 'reset') {
            self.reset();
          }
          return;
        }
        var native = target.closest ? target.closest('button,input') : null;
        if (native && !native.hasAttribute(INTERNAL) && native.form === null && !native.disabled &&
            (native.type === 'submit' || native.type === 'image')) {
          event.preventDefault();
          self.submit();
        }
      });
    }

    /** Every answer-bearing crowd element inside this form, in document order. */
    crowdFields() {
      return Array.prototype.filter.call(this.querySelectorAll('*'), function (node) {
        return node instanceof CrowdField;
      });
    }

    /** Validates everything; returns [{element, label, message}] for each problem. */
    crowdValidateAll() {
      var problems = [];
      this.crowdFields().forEach(function (field) {
        field.crowdEnsureRendered();
        var message = field.crowdValidate();
        field.crowdShowError(message);
        if (message) {
          problems.push({ element: field, focus: field.crowdFocusTarget(), label: field.crowdLabel(), message: message });
        }
      });
      nativeControls(this).forEach(function (control) {
        if (control.disabled || !control.willValidate) {
          return;
        }
        if (!control.checkValidity()) {
          control.setAttribute('aria-invalid', 'true');
          problems.push({ element: control, focus: control, label: control.getAttribute('aria-label') || control.name, message: control.validationMessage });
        } else {
          control.removeAttribute('aria-invalid');
        }
      });
      return problems;
    }

    /** answerContent as it would be submitted now (no validation, no events). */
    collectAnswerContent() {
      var answer = {};
      this.crowdFields().forEach(function (field) {
        field.crowdEnsureRendered();
        if (field.name) {
          field.crowdContribute(answer);
        }
      });
      nativeControls(this).forEach(function (control) {
        if (control.disabled) {
          return;
        }
        var type = (control.type || '').toLowerCase();
        if (type === 'file' || type === 'submit' || type === 'button' || type === 'reset' || type === 'image') {
          return;
        }
        if ((type === 'checkbox' || type === 'radio') && !control.checked) {
          return;
        }
        var value;
        if (control.localName === 'select' && control.multiple) {
          var picked = Array.prototype.filter.call(control.options, function (o) { return o.selected; });
          value = picked.length ? picked[picked.length - 1].value : '';
        } else {
          value = control.value;
        }
        if (value !== '') {
          answer[control.name] = value;
        }
      });
      return answer;
    }

    crowdShowProblems(problems) {
      var box = this._crowdErrors;
      if (!box) {
        return;
      }
      box.textContent = '';
      if (!problems.length) {
        box.hidden = true;
        return;
      }
      var alert = make('div', { className: 'crowd-local-alert crowd-local-alert-error' });
      var body = make('div', { className: 'crowd-local-alert-body' });
      body.appendChild(make('strong', null, 'Your answer cannot be submitted yet. Please check:'));
      var list = make('ul');
      problems.forEach(function (problem) {
        list.appendChild(make('li', { 'data-crowd-problem': problem.label }, problem.label + ' \u2014 ' + problem.message));
      });
      body.appendChild(list);
      alert.appendChild(body);
      box.appendChild(alert);
      box.hidden = false;
    }

    crowdSetBusy(busy) {
      this._crowdBusy = busy;
      Array.prototype.forEach.call(this.querySelectorAll('.crowd-local-submit,.crowd-local-release'), function (b) {
        b.disabled = busy;
      });
      Array.prototype.forEach.call(this.querySelectorAll('crowd-button[form-action="submit"]'), function (b) {
        b.toggleAttribute('loading', busy);
      });
    }

    crowdMessage(type, text, extra) {
      var box = this._crowdResult;
      if (!box) {
        return;
      }
      box.textContent = '';
      var alert = make('div', { className: 'crowd-local-alert crowd-local-alert-' + type, role: type === 'error' ? 'alert' : 'status' });
      var body = make('div', { className: 'crowd-local-alert-body' }, text);
      alert.appendChild(body);
      box.appendChild(alert);
      if (extra) {
        box.appendChild(extra);
      }
    }

    /** POSTs a JSON body and applies the contract's response handling. */
    async crowdPost(url, payload, what) {
      var response;
      var body = null;
      try {
        response = await fetch(url, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(payload)
        });
        var text = await response.text();
        try {
          body = text ? JSON.parse(text) : null;
        } catch (ignored) {
          body = null;
        }
      } catch (err) {
        return { ok: false, status: 0, body: null, message: 'The ' + what + ' could not be sent (' + (err && err.message ? err.message : 'network error') + ').' };
      }
      if (!response.ok) {
        var detail = body && (typeof body.message === 'string' ? body.message : (typeof body.Message === 'string' ? body.Message : ''));
        return {
          ok: false,
          status: response.status,
          body: body,
          message: 'The ' + what + ' was refused (HTTP ' + response.status + ')' + (detail ? ': ' + detail : '.')
        };
      }
      return { ok: true, status: response.status, body: body };
    }

    /** Runs the submission contract (see the header of this file). */
    async submit() {
      this.crowdEnsureRendered();
      if (this._crowdBusy) {
        return { outcome: 'busy' };
      }
      var event = new Event('submit', { bubbles: true, cancelable: true });
      if (!this.dispatchEvent(event)) {
        return { outcome: 'prevented' };
      }
      var problems = this.crowdValidateAll();
      this.crowdShowProblems(problems);
      if (problems.length) {
        if (problems[0].focus && problems[0].focus.focus) {
          problems[0].focus.focus();
        }
        return { outcome: 'invalid', invalid: problems.map(function (p) { return p.label; }) };
      }
      var answerContent = this.collectAnswerContent();
      var url = firstUrl(this, 'data-submit-url', 'CROWD_LOCAL_SUBMIT_URL', SCRIPT_SUBMIT_URL);
      if (!url) {
        this.dispatchEvent(new CustomEvent('crowd-submit', { bubbles: true, detail: { answerContent: answerContent } }));
        var pre = make('pre', { className: 'crowd-local-answer' }, JSON.stringify(answerContent, null, 2));
        this.crowdMessage('info', 'No submit URL is configured, so nothing was sent. This is the answerContent a submit would send:', pre);
        return { outcome: 'shown', answerContent: answerContent };
      }
      this.crowdSetBusy(true);
      var result = await this.crowdPost(url, { answerContent: answerContent }, 'answer');
      if (!result.ok) {
        this.crowdSetBusy(false);
        this.crowdMessage('error', result.message);
        return { outcome: 'failed', status: result.status, answerContent: answerContent };
      }
      this.dispatchEvent(new CustomEvent('crowd-submitted', {
        bubbles: true,
        detail: { answerContent: answerContent, status: result.status, body: result.body }
      }));
      if (result.body && typeof result.body.redirect === 'string' && result.body.redirect) {
        window.location.assign(result.body.redirect);
      } else {
        this.crowdMessage('success', 'Your answer was submitted.');
        Array.prototype.forEach.call(this.querySelectorAll('.crowd-local-submit,.crowd-local-release'), function (b) {
          b.disabled = true;
        });
        Array.prototype.forEach.call(this.querySelectorAll('crowd-button[form-action="submit"]'), function (b) {
          b.removeAttribute('loading');
          b.setAttribute('disabled', '');
        });
      }
      return { outcome: 'submitted', answerContent: answerContent };
    }

    /** Gives the task back (see the header of this file). */
    async release() {
      var url = firstUrl(this, 'data-release-url', 'CROWD_LOCAL_RELEASE_URL', SCRIPT_RELEASE_URL);
      if (!url) {
        this.dispatchEvent(new CustomEvent('crowd-release', { bubbles: true }));
        return { outcome: 'released-event' };
      }
      if (this._crowdBusy) {
        return { outcome: 'busy' };
      }
      this.crowdSetBusy(true);
      var result = await this.crowdPost(url, {}, 'release');
      this.crowdSetBusy(false);
      if (!result.ok) {
        this.crowdMessage('error', result.message);
        return { outcome: 'failed', status: result.status };
      }
      if (result.body && typeof result.body.redirect === 'string' && result.body.redirect) {
        window.location.assign(result.body.redirect);
      } else {
        this.crowdMessage('success', 'The task was released.');
      }
      return { outcome: 'released' };
    }

    /** Puts every field back to its initial value. */
    reset() {
      this.crowdFields().forEach(function (field) {
        field.crowdReset();
      });
      nativeControls(this).forEach(function (control) {
        if (control.localName === 'select') {
          Array.prototype.forEach.call(control.options, function (o) { o.selected = o.defaultSelected; });
        } else if (control.type === 'checkbox' || control.type === 'radio') {
          control.checked = control.defaultChecked;
        } else if (control.type !== 'hidden') {
          control.value = control.defaultValue;
        }
      });
      this.crowdShowProblems([]);
    }
  }

  // ---------------------------------------------------------------- registration

  installStyles();

  var DEFINITIONS = {
    'crowd-form': CrowdForm,
    'crowd-button': CrowdButton,
    'crowd-input': CrowdInput,
    'crowd-text-area': CrowdTextArea,
    'crowd-checkbox': CrowdCheckbox,
    'crowd-radio-group': CrowdRadioGroup,
    'crowd-radio-button': CrowdRadioButton,
    'crowd-toggle-button': CrowdToggleButton,
    'crowd-slider': CrowdSlider,
    'crowd-classifier': CrowdClassifier,
    'crowd-classifier-multi-select': CrowdClassifierMultiSelect,
    'crowd-image-classifier': CrowdImageClassifier,
    'crowd-alert': CrowdAlert,
    'crowd-card': CrowdCard,
    'crowd-instructions': CrowdInstructions,
    'crowd-textract-analyze-document': CrowdTextractAnalyzeDocument,
    'crowd-rekognition-detect-moderation-labels': CrowdRekognitionDetectModerationLabels
  };
  SUPPORTED.forEach(function (tag) {
    if (!customElements.get(tag)) {
      customElements.define(tag, DEFINITIONS[tag]);
    }
  });

  // Unknown crowd-* elements: already parsed ones now, the rest as the parser (or a script)
  // adds them, so that none is ever left as a silent gap.
  scanUnsupported(document.documentElement);
  new MutationObserver(function (records) {
    records.forEach(function (record) {
      Array.prototype.forEach.call(record.addedNodes, function (node) {
        if (node.nodeType === 1) {
          scanUnsupported(node);
        }
      });
    });
  }).observe(document.documentElement, { childList: true, subtree: true });

  window.CrowdLocal = Object.freeze({ version: VERSION, supported: SUPPORTED.slice() });
})();
