"""slack_sdk's WebClient, sending each request with http.client directly.

slack_sdk sends through `urllib.request.urlopen`, which for every call walks the opener's
handler chain and, for HTTPS, builds a new SSL context (loading the CA certificates
again). The outbox worker makes three Web API calls per ticket, so that is a large part of
its CPU. This client keeps slack_sdk's request building, response parsing, errors and
retry handlers as they are and replaces only the step that opens the connection: one
connection per request, as urllib does (nothing is sent twice on a connection that went
stale), with the same exceptions urllib raises (`HTTPError` for a non-2xx answer,
`URLError` when the request could not be sent), and one SSL context per client.
"""

from __future__ import annotations

import io
import ssl
from http.client import HTTPConnection, HTTPSConnection
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient


class DirectWebClient(WebClient):
    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https") or not parts.hostname:
            return super()._perform_urllib_http_request_internal(url, req)
        connection = self._connection(parts.scheme, parts.hostname, parts.port)
        try:
            try:
                connection.request(
                    "POST",
                    parts.path + (f"?{parts.query}" if parts.query else ""),
                    body=req.data,
                    headers=_headers(req),
                )
            except OSError as error:  # as urllib: the request could not be sent
                raise URLError(error) from error
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if not 200 <= response.status < 300:  # as urllib's HTTPErrorProcessor
            raise HTTPError(
                url, response.status, response.reason, response.headers, io.BytesIO(body)
            )
        if response.headers.get_content_type() == "application/gzip":
            return {"status": response.status, "headers": response.headers, "body": body}
        charset = response.headers.get_content_charset() or "utf-8"
        return {
            "status": response.status,
            "headers": response.headers,
            "body": body.decode(charset),
        }

    def _connection(self, scheme: str, host: str, port: int | None) -> HTTPConnection:
        if scheme == "http":
            return HTTPConnection(host, port, timeout=self.timeout)
        return HTTPSConnection(host, port, timeout=self.timeout, context=self._ssl_context)

    @property
    def _ssl_context(self) -> ssl.SSLContext:
        context: ssl.SSLContext | None = self.ssl or self.__dict__.get("_default_ssl_context")
        if context is None:
            context = ssl.create_default_context()
            self.__dict__["_default_ssl_context"] = context
        return context


def _headers(req: Request) -> dict[str, str]:
    """The request's headers as urllib would send them (it closes every connection)."""
    headers = {name.title(): str(value) for name, value in req.header_items()}
    headers["Connection"] = "close"
    return headers
