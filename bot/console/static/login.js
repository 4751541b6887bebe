"use strict";
const TOO_MANY = "Too many sign-in attempts: wait a few minutes and try again.";
if (new URLSearchParams(window.location.search).has("signed-out")) {  // the console sent us back here
  document.getElementById("login-error").textContent =
    "You were signed out: your session ended, or an admin changed your account. Sign in again to go on.";
}
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const out = document.getElementById("login-error");
  out.textContent = "";
  try {
    const resp = await fetch("/api/login", {
      method: "POST", headers: {"Content-Type": "application/json"}, credentials: "same-origin",
      body: JSON.stringify({username: document.getElementById("username").value,
                            password: document.getElementById("password").value}),
    });
    const data = await resp.json().catch(() => ({}));  // a proxy's error page is not JSON
    if (!resp.ok) { out.textContent = data.error || (resp.status === 429 ? TOO_MANY : "Sign-in failed"); return; }
    window.location.href = data.user && data.user.role === "trainer" ? "/train" : "/";  // trainers work on /train
  } catch (err) {
    out.textContent = "The console is not reachable. Is it running?";
  }
});
