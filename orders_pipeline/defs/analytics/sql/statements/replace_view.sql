-- Points the view readers query at one version of the table, in a single catalog update.
CREATE OR REPLACE VIEW ${database}.${view} AS
SELECT * FROM ${database}.${table}
