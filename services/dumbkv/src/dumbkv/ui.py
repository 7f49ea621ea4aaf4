"""The small HTML page at `/` (get / set / delete from a browser)."""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dumbkv</title>
<style>body{font:15px system-ui;margin:2rem;max-width:40rem}input,button{font:inherit;margin:.2rem}
pre{background:#f4f4f4;padding:.6rem}</style></head>
<body><h1>dumbkv</h1>
<p>Encrypted key-value store. API: <a href="/docs">/docs</a>.</p>
<label>database <input id="db" type="number" value="0" min="0"></label><br>
<label>key <input id="key" size="30"></label><br>
<label>value <input id="value" size="30"></label><br>
<button onclick="go('POST')">get</button>
<button onclick="go('PUT')">set</button>
<button onclick="go('DELETE')">delete</button>
<pre id="out"></pre>
<script>
async function go(method) {
  const body = {database: Number(document.getElementById('db').value),
                key: document.getElementById('key').value};
  if (method === 'PUT') body.value = document.getElementById('value').value;
  const response = await fetch('/kv', {method, headers: {'content-type': 'application/json'},
                                       body: JSON.stringify(body)});
  document.getElementById('out').textContent = response.status + ' ' + await response.text();
}
</script></body></html>
"""
