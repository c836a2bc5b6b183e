// Sakspost overview: redraw a fragment of a department page when the live stream says it changed.
// Without this script (or without EventSource) the page still works: reload it.
"use strict";

(function () {
  var live = document.getElementById("live");
  if (!live || !window.EventSource) {
    return;
  }
  var fragments = live.getAttribute("data-fragments");
  var busy = {};

  function redraw(name) {
    if (busy[name]) {
      busy[name] = "again";
      return;
    }
    busy[name] = true;
    fetch(fragments + encodeURIComponent(name), { credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (markup) {
        var old = document.getElementById("fragment-" + name);
        if (markup && old) {
          var holder = document.createElement("div");
          holder.innerHTML = markup;
          var fresh = holder.firstElementChild;
          // Keep keyboard focus where it was when the element is redrawn in place.
          var focused = document.activeElement && document.activeElement.id;
          old.replaceWith(fresh);
          if (focused && document.getElementById(focused)) {
            document.getElementById(focused).focus();
          }
          document.dispatchEvent(new CustomEvent("sakspost:redrawn", { detail: name }));
        }
      })
      .finally(function () {
        var again = busy[name] === "again";
        busy[name] = false;
        if (again) {
          redraw(name);
        }
      });
  }

  var source = new EventSource(live.getAttribute("data-live"));
  source.addEventListener("refresh", function (event) {
    redraw(event.data);
  });
  source.addEventListener("open", function () {
    live.textContent = "";
    live.removeAttribute("data-offline");
  });
  source.addEventListener("error", function () {
    live.textContent = live.getAttribute("data-live-off");
    live.setAttribute("data-offline", "");
  });
})();
