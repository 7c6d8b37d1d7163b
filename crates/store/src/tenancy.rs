//! Organizations and sites.
use crate::audit::append;
use crate::rows::{Get, ts};
use crate::{SqlStore, db_err, unique_or};

use openiop_domain::audit::AuditEvent;
use openiop_domain::ids::{OrganizationId, SiteId};
use openiop_domain::tenancy::{Address, NewSite, Organization, Site, Slug, TimeZone, UsState};
use openiop_domain::{DomainError, Result};
use sqlx::any::AnyRow;

fn organization(r: &AnyRow) -> Result<Organization> {
    Ok(Organization { id: r.parsed("id")?, name: r.text("name")?, slug: Slug::parse(&r.text("slug")?)?, is_demo: r.flag("is_demo")? })
}

fn site(r: &AnyRow) -> Result<Site> {
    Ok(Site {
        id: r.parsed("id")?,
        organization_id: r.parsed("organization_id")?,
        name: r.text("name")?,
        address: Address {
            line1: r.text("line1")?,
            city: r.text("city")?,
            state: UsState::parse(&r.text("state")?)?,
            postal_code: r.text("postal_code")?,
        },
        time_zone: TimeZone::parse(&r.text("time_zone")?)?,
    })
}

const SITE_COLUMNS: &str = "id, organization_id, name, line1, city, state, postal_code, time_zone";

impl SqlStore {
    pub(crate) async fn insert_organization(&self, name: &str, slug: &Slug, is_demo: bool, mut audit: AuditEvent) -> Result<Organization> {
        let org = Organization { id: OrganizationId::new(), name: name.to_string(), slug: slug.clone(), is_demo };
        audit.organization_id = Some(org.id);
        audit.resource_id = Some(org.id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done = sqlx::query("INSERT INTO organizations (id, name, slug, is_demo, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(org.id.to_string())
            .bind(&org.name)
            .bind(org.slug.as_str())
            .bind(is_demo)
            .bind(ts(self.now()))
            .execute(&mut *tx)
            .await;
        if let Err(e) = done {
            return Err(unique_or(e, "slug_taken", "an organization with this slug exists"));
        }
        crate::programs::seed_service_catalogue(self, &mut tx, org.id).await?;
        tx.commit().await?;
        Ok(org)
    }

    pub(crate) async fn get_organization(&self, id: OrganizationId) -> Result<Organization> {
        self.reference("organization", id.to_string(), || async move {
            self.q()?;
            let r = sqlx::query("SELECT id, name, slug, is_demo FROM organizations WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
            r.as_ref().map(organization).transpose()?.ok_or(DomainError::NotFound("organization"))
        })
        .await
    }

    pub(crate) async fn find_organization(&self, slug: &str) -> Result<Option<Organization>> {
        self.q()?;
        let r = sqlx::query("SELECT id, name, slug, is_demo FROM organizations WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        r.as_ref().map(organization).transpose()
    }

    pub(crate) async fn list_organizations(&self) -> Result<Vec<Organization>> {
        self.q()?;
        let rows = sqlx::query("SELECT id, name, slug, is_demo FROM organizations ORDER BY name")
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        rows.iter().map(organization).collect()
    }

    pub(crate) async fn insert_site(&self, org: OrganizationId, s: NewSite, mut audit: AuditEvent) -> Result<Site> {
        let site = Site { id: SiteId::new(), organization_id: org, name: s.name, address: s.address, time_zone: s.time_zone };
        audit.resource_id = Some(site.id.to_string());
        let mut tx = self.write().await?;
        append(self, &mut tx, &audit).await?;
        self.q()?;
        let done =
            sqlx::query(crate::sql(format!("INSERT INTO sites ({SITE_COLUMNS}, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")))
                .bind(site.id.to_string())
                .bind(org.to_string())
                .bind(&site.name)
                .bind(&site.address.line1)
                .bind(&site.address.city)
                .bind(site.address.state.as_str())
                .bind(&site.address.postal_code)
                .bind(site.time_zone.name())
                .bind(ts(self.now()))
                .execute(&mut *tx)
                .await;
        if let Err(e) = done {
            return Err(unique_or(e, "site_name_taken", "a site with this name exists"));
        }
        tx.commit().await?;
        Ok(site)
    }

    pub(crate) async fn list_sites(&self, org: OrganizationId) -> Result<Vec<Site>> {
        self.reference("sites", org.to_string(), || async move {
            self.q()?;
            let rows = sqlx::query(crate::sql(format!("SELECT {SITE_COLUMNS} FROM sites WHERE organization_id = $1 ORDER BY name")))
                .bind(org.to_string())
                .fetch_all(&mut *self.conn().await?)
                .await
                .map_err(db_err)?;
            rows.iter().map(site).collect()
        })
        .await
    }

    pub(crate) async fn get_site(&self, org: OrganizationId, id: SiteId) -> Result<Site> {
        self.q()?;
        let r = sqlx::query(crate::sql(format!("SELECT {SITE_COLUMNS} FROM sites WHERE organization_id = $1 AND id = $2")))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        r.as_ref().map(site).transpose()?.ok_or(DomainError::NotFound("site"))
    }
}
