SELECT * FROM 患者 WHERE id = 1
select name, id_card from patient where phone = '13800138000' and name = "张三"
SELECT * FROM t1 WHERE a IN (1, 2, 3) AND b IN ('x','y')
INSERT INTO visit (id, pid, note) VALUES (1, 2, 'a'), (3, 4, 'b'), (5,6,'c')
INSERT INTO visit VALUES (1, 2, NULL)
REPLACE INTO visit VALUES (7, 8, 'x')
UPDATE patient SET phone = '13900000000' WHERE id = 42
DELETE FROM patient
SELECT a FROM t ORDER BY a ASC, b DESC, c ASC LIMIT 10, 20
SELECT a FROM t LIMIT 5 OFFSET 10
SELECT /* comment 123 */ a -- trailing
FROM t WHERE x = 0x1F AND y = -5.5e3 AND z = +3
call sp_do_thing(1, 'a')
use his
SELECT 1 UNION SELECT 1 UNION ALL SELECT 1
SELECT * FROM `db1`.`tbl2` WHERE `col3` = 'it''s' AND d = 'back\'slash'
SELECT   a ,  b
	FROM     t
	WHERE c IS NULL AND d IS NOT NULL
GRANT SELECT ON his.* TO 'doc'@'10.%'
SELECT * FROM 患者 WHERE 姓名 = '李四' AND 身份证号 = '110101199003071234'
SELECT /*!40001 SQL_NO_CACHE */ * FROM `x`
administrator command: Ping
SELECT a FROM t WHERE b = 'x' ORDER BY ascii_col ASC
INSERT INTO t (note) SELECT 'values (1)' FROM u WHERE a IN (1), (2)
INSERT INTO log VALUES (1, 'x') ON DUPLICATE KEY UPDATE n = VALUES(n), m = 2
SELECT a FROM t ORDER BY a DESC, b LIMIT 3
SELECT a FROM t ORDER BY a asc, (SELECT 1 ORDER BY z ASC) ASC
SELECT 1 FROM t WHERE x = 'select 1 union select 1'
