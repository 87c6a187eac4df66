//! A database error during an import names the table, the file and the batch it happened in —
//! as a parse error names the file, line and element — and the import is rolled back. The
//! database is made to refuse one product row with a trigger, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
use std::path::Path;

use engine::import::{self, DbTarget, ImportError, NoProgress};
use engine::kinds::ImportKind;
use engine::testing::TestDb;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

mod common;
use common::{request, temp_dir};

const SEGMENT: &str = "goods/goods_1_1_db0e0000-0000-4000-8000-0000000000a1.xml";

/// A 3.1 goods file of `n` products `p-1` … `p-n`.
fn goods(n: usize) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация \
         xmlns=\"urn:1C.ru:commerceml_3\" ВерсияСхемы=\"3.1\" \
         ДатаФормирования=\"2026-11-25T10:00:00\">\n<Каталог><Ид>cat</Ид>\
         <ИдКлассификатора>cat</ИдКлассификатора><Наименование>Товары</Наименование>\n\
         <Товары>\n",
    );
    for i in 1..=n {
        s.push_str(&format!(
            "<Товар><Ид>p-{i}</Ид><Наименование>Товар {i}</Наименование></Товар>\n"
        ));
    }
    s.push_str("</Товары>\n</Каталог>\n</КоммерческаяИнформация>\n");
    s
}

/// Makes the database refuse the product `onec_id`.
async fn refuse_product(db: &DatabaseConnection, onec_id: &str) {
    let statements = match db.get_database_backend() {
        DbBackend::Postgres => vec![
            format!(
                "CREATE FUNCTION refuse_product() RETURNS trigger AS $$ BEGIN \
                 IF NEW.onec_id = '{onec_id}' THEN RAISE EXCEPTION 'товар отклонён'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER refuse_product BEFORE INSERT ON products FOR EACH ROW \
             EXECUTE FUNCTION refuse_product()"
                .to_owned(),
        ],
        _ => vec![format!(
            "CREATE TRIGGER refuse_product BEFORE INSERT ON products \
             WHEN NEW.onec_id = '{onec_id}' BEGIN SELECT RAISE(ABORT, 'товар отклонён'); END"
        )],
    };
    for sql in statements {
        db.execute_unprepared(&sql).await.unwrap();
    }
}

async fn products(db: &DatabaseConnection) -> u64 {
    engine::stats::stats(db).await.unwrap().products_total
}

fn write_goods(dir: &Path, n: usize) {
    let path = dir.join(SEGMENT);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, goods(n)).unwrap();
}

#[tokio::test]
async fn a_refused_row_names_the_table_the_file_and_the_batch() {
    let dir = temp_dir("db_errors");
    // 2 500 products: batches of 1 000 records, the third holds records 2 001–2 500.
    write_goods(&dir, 2_500);
    for t in TestDb::each().await {
        refuse_product(&t.db, "p-2100").await;
        let err = import::run(&t.db, &request(ImportKind::Catalog, &dir), &NoProgress)
            .await
            .expect_err("the database refuses p-2100");
        let ImportError::Db { context, source } = &err else {
            panic!("expected ImportError::Db, got {err:?}");
        };
        assert_eq!(context.target, DbTarget::Write("products"), "{err}");
        assert_eq!(context.file.as_deref(), Some(SEGMENT), "{err}");
        assert_eq!(context.batch, Some(3), "{err}");
        assert_eq!(context.records, Some(2_001..=2_500), "{err}");
        assert!(source.to_string().contains("товар отклонён"), "{err}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "Ошибка базы данных при записи в products (файл {SEGMENT}, пакет 3, записи \
                 2001–2500): "
            )),
            "{message}"
        );
        // Rolled back: the two batches written before are gone too.
        assert_eq!(products(&t.db).await, 0, "{}", t.url);
        t.drop_db().await;
    }
}
