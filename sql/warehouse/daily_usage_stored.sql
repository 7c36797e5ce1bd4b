CREATE OR REPLACE TEMP TABLE month_daily_usage AS SELECT * FROM daily_usage WHERE period = $period
