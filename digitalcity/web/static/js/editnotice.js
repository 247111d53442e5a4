// What an edit did ("Saved", a split's parts), said at the top of the feature's card for as
// long as that card is the one shown (the card is drawn again when the map's style reloads),
// with a way to undo it: the editor's own change set (an admin's too), reverted. A deletion's
// notice is a card of its own (the planner's ``noticeCard``).
import { esc, revertChangeset } from "./common.js";
import { t } from "./i18n.js";

export class EditNotice {
  /**
   * ``hooks``: ``meta()`` (the city's /cities/{city} answer: collection ids), ``shown()`` (the
   * fid of the feature whose card is shown, as text), ``undone(layerId, fid, exists)`` once an
   * undo has been tried (the page reads the map again and opens the feature when it exists,
   * else the notice alone) and ``onError(err)``.
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.notice = null; // {fid, layerId, message, undo: {collection, changeset} | null, made}
  }

  /** Tell of an edit of feature ``fid`` (change set ``changeset``); ``made``: "created" or
   * "deleted" when the edit made or removed the feature. */
  tell(layerId, fid, message, changeset, made = null) {
    const collection = this.hooks.meta().layers[layerId].collection;
    this.notice = { fid: String(fid), layerId, message, made,
      undo: changeset ? { collection, changeset } : null };
  }

  /** The notice's paragraph, with its Undo button when the edit can be undone. */
  html() {
    const undo = this.notice.undo
      ? ` <button type="button" class="link" id="edit-undo">${esc(t("undoEdit"))}</button>` : "";
    return `<p class="saved edit-done">${esc(this.notice.message)}${undo}</p>`;
  }

  /** ``html`` (a card's body) with the notice on top while the card is its feature's; the
   * notice is forgotten once another card is shown. */
  wrap(html) {
    if (this.notice?.fid !== this.hooks.shown()) {
      this.notice = null;
      return html;
    }
    return this.html() + html;
  }

  /** Wire the Undo button of the card just drawn. */
  wire() {
    const undo = document.getElementById("edit-undo");
    if (undo) undo.onclick = () => { undo.disabled = true; this.undo().catch(this.hooks.onError); };
  }

  // Undo the edit the notice tells of; the card (the feature's, if it exists after) then says
  // whether it was undone.
  async undo() {
    const { fid, layerId, undo, made } = this.notice;
    let undone = true;
    let message = t("editUndone");
    try {
      await revertChangeset(undo.collection, undo.changeset, t("undoReason"));
    } catch (err) {
      undone = false;
      message = err.status === 409 ? t("changes_revertConflict") : t("error", { msg: err.message });
    }
    this.tell(layerId, fid, message, null);
    await this.hooks.undone(layerId, fid, undone ? made !== "created" : made !== "deleted");
  }
}
