// Injected by `actionmail preview` into an email it serves alone in a tab (never into rendered or sent email):
// reload when this newsletter, or something every newsletter uses, is saved.
(() => {
  const id = document.currentScript.dataset.newsletter;
  const events = new EventSource("/events");
  events.addEventListener("change", (event) => {
    const change = JSON.parse(event.data);
    if (change.shared || change.ids.includes(id)) location.reload();
  });
})();
