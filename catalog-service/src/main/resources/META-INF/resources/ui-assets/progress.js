// Live progress of a running backup: the catalog's server-sent events (GET /ui/backups/{id}/progress, the stream of
// GET /api/v1/backups/{id}/progress), read with the session cookie. Text goes in through textContent only; the page reloads when the backup is done.
(function () {
  var section = document.getElementById('progress');
  if (!section || !window.EventSource) {
    return;
  }
  var id = section.getAttribute('data-backup');
  var bar = document.getElementById('progress-bar');
  var text = document.getElementById('progress-text');
  var source = new EventSource('/ui/backups/' + encodeURIComponent(id) + '/progress');
  source.addEventListener('progress', function (e) {
    var p = JSON.parse(e.data);
    if (typeof p.percent === 'number') {
      bar.value = p.percent;
    }
    text.textContent = (p.phase || p.status || '') + (typeof p.percent === 'number' ? ' ' + p.percent + ' %' : '')
      + (typeof p.bytesDone === 'number' ? ', ' + p.bytesDone + ' bytes' : '');
  });
  source.addEventListener('done', function () {
    source.close();
    window.location.reload();
  });
  source.addEventListener('error', function (e) {
    if (e.data) {
      text.textContent = 'progress stream ended: ' + JSON.parse(e.data).detail;
    }
    source.close();
  });
})();
