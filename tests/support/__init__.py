"""What the tests share: named tenants, helpers, the live stack and the browser. Test modules
import from here, never from one another; conftest.py makes the fixtures defined here
available to every module."""
