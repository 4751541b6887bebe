"use strict";
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
    const data = await resp.json();
    if (!resp.ok) { out.textContent = data.error || "Sign-in failed"; return; }
    window.location.href = "/";
  } catch (err) {
    out.textContent = "The console is not reachable. Is it running?";
  }
});
