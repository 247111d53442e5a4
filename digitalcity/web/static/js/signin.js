// Sign-in on the planner map with an API key: the key checked against the city's answer
// (/cities/{city}, 401 for a key the server does not know) before it is kept in the tab
// (common.setApiKey); signing out forgets it. The header's button says who is signed in.
import { api, apiKey, setApiKey } from "./common.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

/** The sign-in button's text and title for the role ``role`` the city's answer names. */
export function showSignedIn(role) {
  $("signin").textContent = apiKey() ? t("signOut") : t("signIn");
  $("signin").title = apiKey() ? t("signedIn", { role: t(`role_${role}`) }) : "";
}

/**
 * Wire the sign-in button and its dialog: ``city()`` is the city whose answer checks a key;
 * ``signedOut()`` and ``signedIn()`` are called once the key is forgotten or kept (the page
 * reads its style again: other layers and rights).
 */
export function wireSignIn({ city, signedOut, signedIn }) {
  $("signin").onclick = () => {
    if (apiKey()) {
      setApiKey(null);
      signedOut();
      return;
    }
    $("key-error").hidden = true;
    $("key-dialog").showModal();
  };
  $("key-form").onsubmit = async (event) => {
    if (event.submitter && event.submitter.value !== "ok") return;
    event.preventDefault();
    const key = $("key").value.trim();
    try {
      await api(`/cities/${city()}`, { key });
    } catch (err) {
      $("key-error").textContent = err.status === 401 ? t("badKey") : err.message;
      $("key-error").hidden = false;
      return;
    }
    setApiKey(key);
    $("key").value = "";
    $("key-dialog").close();
    signedIn();
  };
}
