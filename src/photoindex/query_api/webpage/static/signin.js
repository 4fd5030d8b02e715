// Asks for the API key when the server wants one, once: the key is posted to /api/v1/session, which
// answers with an HttpOnly cookie; this script never stores the key, and thumbnails load by the cookie too.

const SESSION = "/api/v1/session";
let pending = null; // one dialog for all the requests refused at once
let parts = null; // the dialog, built on first use: a server without a key never shows it

function build() {
  const dialog = document.createElement("dialog");
  dialog.id = "signin";
  dialog.className = "confirm signin";
  dialog.setAttribute("aria-labelledby", "signin-title");
  dialog.setAttribute("aria-describedby", "signin-why");
  const form = document.createElement("form");
  const title = document.createElement("h2");
  title.id = "signin-title";
  title.textContent = "API key needed";
  const why = document.createElement("p");
  why.id = "signin-why";
  why.textContent = "This server asks for its API key. The browser keeps it as a cookie until it closes.";
  const label = document.createElement("label");
  label.htmlFor = "signin-key";
  label.textContent = "API key";
  const input = document.createElement("input");
  Object.assign(input, { id: "signin-key", name: "key", type: "password", required: true, autocomplete: "current-password" });
  input.spellcheck = false;
  input.setAttribute("aria-describedby", "signin-error");
  const error = document.createElement("p");
  error.id = "signin-error";
  error.className = "error";
  error.setAttribute("role", "alert");
  error.hidden = true;
  const actions = document.createElement("div");
  actions.className = "actions";
  const cancel = document.createElement("button");
  Object.assign(cancel, { type: "button", textContent: "Cancel" });
  const submit = document.createElement("button");
  Object.assign(submit, { type: "submit", textContent: "Sign in" });
  actions.append(cancel, submit);
  form.append(title, why, label, input, error, actions);
  dialog.append(form);
  document.body.append(dialog);
  return { dialog, form, input, error, cancel, submit };
}

async function postKey(key) {
  const response = await fetch(SESSION, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ key }),
  });
  if (response.ok) return null;
  if (response.status === 401) return "That key is wrong. Try again.";
  const body = (response.headers.get("content-type") || "").includes("json") ? await response.json() : null;
  return `Could not sign in: ${(body && body.detail) || `HTTP ${response.status}`}`;
}

function ask() {
  parts = parts || build();
  const { dialog, form, input, error, cancel, submit } = parts;
  input.value = "";
  input.removeAttribute("aria-invalid");
  error.hidden = true;
  dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    const done = (signedIn) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      resolve(signedIn);
    };
    const onCancel = (event) => {
      event.preventDefault();
      done(false);
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      submit.disabled = true;
      let problem;
      try {
        problem = await postKey(input.value);
      } catch (failure) {
        problem = `Could not sign in: ${failure.message}`;
      } finally {
        submit.disabled = false;
      }
      if (problem === null) return done(true);
      error.textContent = problem;
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.select();
    };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
  });
}

/** Ask for the key (one dialog however many requests wait); resolves true once signed in, false if cancelled. */
export function signIn() {
  if (!pending) pending = ask().finally(() => (pending = null));
  return pending;
}
