// The edxgate console's only script (served by edxgated; the pages allow no
// other). A leader signs a document with the PIN of the gateway's token: the
// PIN goes once to the API route POST /v1/outgoing/{id}/sign, as curl would
// send it, and is kept nowhere: the field is cleared before the request
// leaves and the copies are dropped after it. Results are shown as text only.
'use strict';

const kStates = {
  pending_signature: 'Chờ ký số', signed: 'Đã ký số', queued: 'Chờ gửi', sent: 'Đã gửi lên trục',
};

function show(out, text, ok) {
  out.textContent = text;
  out.classList.toggle('ok', ok);
  out.classList.toggle('bad', !ok);
}

async function sign(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const input = form.querySelector('input[type=password]');
  const button = form.querySelector('button');
  const out = form.querySelector('output');
  let body = JSON.stringify({ pin: input.value });
  input.value = '';
  if (body === '{"pin":""}') {
    show(out, 'Hãy nhập mã PIN.', false);
    return;
  }
  button.disabled = true;
  show(out, 'Đang ký số…', true);
  try {
    const response = await fetch('/v1/outgoing/' + encodeURIComponent(form.dataset.id) + '/sign', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body,
      credentials: 'same-origin', cache: 'no-store', redirect: 'error',
    });
    body = null;
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      form.dataset.state = answer.state || '';
      show(out, 'Đã ký số. Trạng thái: ' + (kStates[answer.state] || answer.state), true);
      input.disabled = true;
      const article = form.closest('article');
      if (article) article.classList.add('done');
      return;
    }
    show(out, 'Không ký được: ' + (answer.detail || ('HTTP ' + response.status)), false);
  } catch (e) {
    show(out, 'Không kết nối được tới cổng.', false);
  } finally {
    body = null;
  }
  button.disabled = false;
}

document.addEventListener('DOMContentLoaded', () => {
  for (const form of document.querySelectorAll('form.sign')) form.addEventListener('submit', sign);
});
