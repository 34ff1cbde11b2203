"""Scripts the browser tests and the dashboard benchmark add to every page."""

# document.visibilityState under the test's control (a headless tab is always visible)
VISIBILITY = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState",
                        {configurable: true, get: () => hidden ? "hidden" : "visible"});
  window.__setHidden = (h) => {
    hidden = h;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""
# Notification stubbed to count: permission granted once asked
NOTIFICATION = """
window.__notes = [];
window.Notification = class {
  static permission = "default";
  static requestPermission() {
    window.Notification.permission = "granted";
    return Promise.resolve("granted");
  }
  constructor(title, options) { window.__notes.push({title, tag: options.tag}); }
};
"""
