"""Error pages in Chinese for rejected requests, for full pages and htmx alike."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

TITLES = {
    400: "请求无效",
    401: "请先登录",
    403: "无权访问",
    404: "页面或记录不存在",
    405: "请求方式不正确",
    413: "提交的内容过大",
    503: "服务暂时不可用",
}
MESSAGES = {
    400: "提交的内容不完整或格式不正确，请返回页面刷新后重新填写。",
    401: "登录已失效，请重新登录。",
    403: "您无权访问该页面或记录。",
    404: "未找到该页面或记录，它可能不存在或不属于当前登录的单位或个人。",
    405: "该地址不接受这种请求方式，请从页面上的按钮或链接进入。",
    413: "提交的内容过大或字段过多：上传的文件合计不能超过{limit}，表单字段不能超过{parts}个，"
    "请压缩文件或分批提交。",
    503: "核心系统暂时无法处理，请稍后再试。",
}
CSRF_MESSAGE = "页面安全令牌（csrf_token）缺失、无效或已过期，请刷新页面后重新提交。"


def register_error_pages(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    for code in TITLES:
        app.register_error_handler(code, _http_error)


def _csrf_error(error: CSRFError) -> Any:
    return _page(400, CSRF_MESSAGE)


def _http_error(error: HTTPException) -> Any:
    code = error.code or 400
    # A view that passes its own description (in Chinese) gets it shown; Werkzeug's
    # English default is replaced by the message for the status code.
    default = type(error).description
    if error.description and error.description != default:
        message = error.description
    else:
        message = MESSAGES.get(code, MESSAGES[400]).format(
            limit=_limit_label(), parts=current_app.config.get("MAX_FORM_PARTS")
        )
    body, status = _page(code, message)
    # A 405 answer must name the methods the address accepts.
    allowed = getattr(error, "valid_methods", None)
    headers = {"Allow": ", ".join(allowed)} if allowed else {}
    return body, status, headers


def _page(code: int, message: str) -> tuple[str, int]:
    title = TITLES.get(code, TITLES[400])
    if request.headers.get("HX-Request"):
        return render_template("partials/request_error.html", message=message), code
    return render_template("error.html", title=title, message=message, code=code), code


def _limit_label() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if limit >= 1024 * 1024:
        return f"{limit // (1024 * 1024)}MB"
    return f"{limit // 1024}KB"
