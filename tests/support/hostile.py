"""Customers' words written to attack the page: every place that shows them must escape them."""

HOSTILE_NAME = '<script>alert("name")</script><img src=x onerror=alert(1)>'
HOSTILE_TEXT = (
    'Look: javascript:alert(1) <img src=x onerror=alert(2)> <a href="javascript:alert(3)">click</a> '
    'https://shop.example/track?id=1&x="><script>alert(4)</script> and www.example.org'
)
HOSTILE_CAPTION = '<svg onload=alert(5)> see http://example.com/"onmouseover="alert(6)'
