-- Whether a no-show keeps the customer's paid deposit (the usual rule) or gives it back.
ALTER TABLE organizations ADD COLUMN no_show_forfeits boolean NOT NULL DEFAULT true;
