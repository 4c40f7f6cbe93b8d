/*
  The staff console's one script (served from this server; the pages allow no other and no inline script).
  - Live updates: polls the page's small JSON stamp; when it changes, fetches the page again and swaps the
    parts marked data-part (parsed with DOMParser, never executed; the server escapes everything); a part
    marked data-part="idle" (forms) only while nobody is typing in it.
  - Countdowns: keeps "剩 …" / "已超 …" and the green / yellow / red class current between updates.
  - Quick replies: choosing one puts its text into the reply box, where it can be edited before sending.
  Every page works without it.
*/
"use strict";
(function () {
  var POLL_MS = 4000;
  var TICK_MS = 30000;
  var LABELS = { running: "", due_soon: "即将超时", overdue: "" };
  var live = document.getElementById("live");
  var status = document.getElementById("live-status");
  var busy = false;
  var stopped = false;

  function span(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var rest = minutes % 60;
    if (days) { return hours ? days + "天" + hours + "小时" : days + "天"; }
    if (hours) { return rest ? hours + "小时" + rest + "分钟" : hours + "小时"; }
    return Math.max(rest, 1) + "分钟";
  }

  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll(".due[data-due]");
    for (var i = 0; i < clocks.length; i++) {
      var clock = clocks[i];
      var due = Date.parse(clock.getAttribute("data-due"));
      if (isNaN(due)) { continue; }
      var warn = Date.parse(clock.getAttribute("data-warn") || "");
      var seconds = Math.round((due - now) / 1000);
      var state = seconds <= 0 ? "overdue" : (!isNaN(warn) && now >= warn ? "due_soon" : "running");
      if (clock.classList.contains("due_soon") && state === "running") { state = "due_soon"; }
      clock.classList.remove("running", "due_soon", "overdue");
      clock.classList.add(state);
      var label = clock.querySelector(".due-label");
      var left = clock.querySelector(".due-left");
      if (label) { label.textContent = LABELS[state]; }
      if (left) { left.textContent = (seconds > 0 ? "剩 " : "已超 ") + span(seconds); }
    }
  }

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function focusKey() {
    var active = document.activeElement;
    if (!active || active === document.body) { return null; }
    if (active.id) { return { id: active.id }; }
    if (active.getAttribute && active.getAttribute("href")) { return { href: active.getAttribute("href") }; }
    return null;
  }

  function restoreFocus(key) {
    if (!key || (document.activeElement && document.activeElement !== document.body)) { return; }
    var target = key.id ? document.getElementById(key.id) : null;
    if (!target && key.href) {
      var links = document.querySelectorAll("a[href]");
      for (var i = 0; i < links.length; i++) {
        if (links[i].getAttribute("href") === key.href) { target = links[i]; break; }
      }
    }
    if (target) { target.focus(); }
  }

  // The conversation reads top to bottom, newest last: show its end, unless the reader scrolled up.
  function showLatest(force) {
    var lists = document.querySelectorAll("ol.chat");
    for (var i = 0; i < lists.length; i++) {
      var list = lists[i];
      if (force || list.getAttribute("data-at-end") !== "no") { list.scrollTop = list.scrollHeight; }
      list.addEventListener("scroll", function (event) {
        var box = event.target;
        box.setAttribute("data-at-end", box.scrollHeight - box.scrollTop - box.clientHeight < 40 ? "yes" : "no");
      });
    }
  }

  // A part holding forms is only replaced while nobody is using them: typed text is never lost.
  function idle(part) {
    if (part.contains(document.activeElement)) { return false; }
    var fields = part.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "hidden") { continue; }
      if (field.tagName === "SELECT") {
        var initial = 0;
        for (var j = 0; j < field.options.length; j++) {
          if (field.options[j].defaultSelected) { initial = j; }
        }
        if (field.selectedIndex !== initial) { return false; }
      } else if (field.type === "radio" || field.type === "checkbox") {
        if (field.checked !== field.defaultChecked) { return false; }
      } else if (field.value !== field.defaultValue) {
        return false;
      }
    }
    var details = part.querySelectorAll("details[open]");
    return details.length === 0;
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var key = focusKey();
    var parts = document.querySelectorAll("[data-part]");
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i];
      if (!part.id) { continue; }
      if (part.getAttribute("data-part") === "idle" && !idle(part)) { continue; }
      var replacement = fresh.getElementById(part.id);
      if (replacement) { part.replaceWith(document.importNode(replacement, true)); }
    }
    var wasAtEnd = true;
    var old = document.querySelector("ol.chat");
    if (old) { wasAtEnd = old.getAttribute("data-at-end") !== "no"; }
    var stamp = fresh.getElementById("live");
    if (stamp) { live.setAttribute("data-stamp", stamp.getAttribute("data-stamp") || ""); }
    restoreFocus(key);
    if (wasAtEnd) { showLatest(true); }
    tick();
  }

  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        swap(html);
        say("已自动更新：新的内容已显示");
      });
  }

  function poll() {
    if (stopped || busy || document.hidden) { return; }
    busy = true;
    fetch(live.getAttribute("data-live"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 404) { stopped = true; say("这件诉求已不由您的单位办理，请返回队列。"); return null; }
        if (!response.ok || response.redirected) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        if (body && body.stamp !== live.getAttribute("data-stamp")) { return refresh(); }
        return null;
      })
      .catch(function () { say("暂时无法自动更新，请稍后刷新页面。"); })
      .then(function () { busy = false; });
  }

  function quickReplies() {
    var pickers = document.querySelectorAll("select[data-insert]");
    for (var i = 0; i < pickers.length; i++) {
      pickers[i].addEventListener("change", function (event) {
        var picker = event.target;
        var option = picker.options[picker.selectedIndex];
        var box = document.getElementById(picker.getAttribute("data-insert"));
        var text = option ? option.getAttribute("data-text") : null;
        if (!box || !text) { return; }
        box.value = box.value.trim() ? box.value.replace(/\s+$/, "") + "\n" + text : text;
        picker.value = "";
        box.focus();
      });
    }
  }

  quickReplies();
  showLatest(true);
  tick();
  window.setInterval(tick, TICK_MS);
  if (live && window.fetch && window.DOMParser) {
    window.setInterval(poll, POLL_MS);
  }
}());
