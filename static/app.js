// Small enhancements only; every page works without this file.
"use strict";

// Pre-select the browser's own time zone on sign-up, when the person has not chosen one yet.
document.addEventListener("DOMContentLoaded", () => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("select[data-browser-timezone]").forEach((select) => {
    if (select.value === "UTC" && zone && [...select.options].some((o) => o.value === zone)) {
      select.value = zone;
    }
  });
});

// The quick-log card: after a save in place, the value field has the focus again, so a phone's keyboard
// stays up for the next rep (without this file the page reloads and the field is simply empty).
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id !== "quick-log") return;
  const value = document.querySelector("#quick-log input[name=value]");
  if (value) value.focus({ preventScroll: true });
});

// Study reviews: keys 1-4 press the rating buttons (again, hard, good, easy), unless typing in a field.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || !"1234".includes(event.key) || event.key.length !== 1) return;
  if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) return;
  const button = document.querySelector(`#study-card button[data-shortcut="${event.key}"]:not([disabled])`);
  if (button) {
    event.preventDefault();
    button.click();
  }
});

// The recovery routine: one step at a time with a visible countdown, and the 4-7-8 breathing pacer.
// Without this, the page is a plain checklist with the same fields and buttons.
document.addEventListener("DOMContentLoaded", () => {
  const routine = document.querySelector("form.routine[data-step]");
  if (!routine) return;
  const current = Number(routine.dataset.step);
  if (current > 3) return;  // finished: show everything written
  routine.classList.add("routine--stepped");
  routine.querySelectorAll(".routine-step").forEach((step) => {
    const here = Number(step.dataset.step) === current;
    step.hidden = !here;
    if (!here) return;
    const timer = step.querySelector("[data-timer]");
    const ends = Date.now() + Number(step.dataset.seconds) * 1000;
    const show = () => {
      const left = Math.max(0, Math.round((ends - Date.now()) / 1000));
      timer.textContent = left > 0
        ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`
        : "Time is up. Move on when you are ready.";
      return left;
    };
    timer.hidden = false;
    show();
    const tick = setInterval(() => { if (show() === 0) clearInterval(tick); }, 1000);
  });

  const pacer = routine.querySelector("[data-pacer]");
  const start = pacer && pacer.querySelector("[data-pacer-start]");
  if (!start) return;
  start.hidden = false;
  const count = pacer.querySelector("[data-pacer-count]");
  const phases = [["Breathe in", 4], ["Hold", 7], ["Breathe out", 8]];
  const round = phases.reduce((sum, [, seconds]) => sum + seconds, 0);
  start.addEventListener("click", () => {
    const began = Date.now();
    start.hidden = true;
    pacer.classList.remove("pacer--running");
    void pacer.offsetWidth;  // restart the CSS animation
    pacer.classList.add("pacer--running");
    const step = () => {
      const elapsed = Math.floor((Date.now() - began) / 1000);
      if (elapsed >= round * 3) {
        count.textContent = "Three rounds done.";
        pacer.classList.remove("pacer--running");
        start.hidden = false;
        start.textContent = "Breathe again";
        return false;
      }
      let at = elapsed % round;
      for (const [name, seconds] of phases) {
        if (at < seconds) {
          count.textContent = `Round ${Math.floor(elapsed / round) + 1} of 3: ${name}, ${at + 1} of ${seconds}`;
          break;
        }
        at -= seconds;
      }
      return true;
    };
    step();
    const tick = setInterval(() => { if (!step()) clearInterval(tick); }, 250);
  });
});

// A pre-mortem's silent write: a countdown that only guides (typing goes on after it ends).
// Without this, the page says how many minutes to take.
document.addEventListener("DOMContentLoaded", () => {
  const timer = document.querySelector("[data-countdown]");
  if (!timer) return;
  // "Save and keep writing" reloads the page: the end is kept for this tab, so a save does not restart the
  // countdown (an end more than an hour past starts a fresh one).
  const key = `countdown:${timer.dataset.countdownKey}`;
  const kept = Number(sessionStorage.getItem(key));
  const ends = kept > Date.now() - 3600 * 1000 ? kept : Date.now() + Number(timer.dataset.countdown) * 1000;
  sessionStorage.setItem(key, String(ends));
  const show = () => {
    const left = Math.max(0, Math.round((ends - Date.now()) / 1000));
    timer.textContent = left > 0
      ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`
      : "Time is up. Finish your line, then press “I'm done”.";
    return left;
  };
  show();
  const tick = setInterval(() => { if (show() === 0) clearInterval(tick); }, 1000);
});

// A read-only link to hand on (the queue's invite link): it selects itself whole when focused, and a Copy
// button beside it puts it on the clipboard. Without this file the field is still there to select and copy.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-copy]").forEach((field) => {
    field.addEventListener("focus", () => field.select());
    if (!navigator.clipboard) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = "Copy";
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = "Copied";
      } catch {
        field.focus();
        button.textContent = "Select and copy";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2500);
    });
    field.after(button);
  });
});
