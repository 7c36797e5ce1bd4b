CREATE OR REPLACE TEMP TABLE month_usage AS SELECT * FROM monthly_usage WHERE period = $period
