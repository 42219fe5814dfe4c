"""The site's pages. Views parse input, check who may act, call a service and render: the
public reads (``pages``), the old addresses (``moved``), accounts (``accounts``), the owner's
forms (``editing``) and the download link (``downloads``)."""
