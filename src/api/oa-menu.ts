import { z } from 'zod';
import { OkAnswer, type ApiCaller } from './client.js';

/** Custom menu (spec 12.5; set 15). */

export interface MenuButton {
  type?: 'click' | 'view' | 'scancode_push' | 'scancode_waitmsg' | 'pic_sysphoto' | 'pic_photo_or_album' | 'pic_weixin' | 'location_select' | 'media_id' | 'article_id' | 'article_view_limited' | 'miniprogram';
  name: string;
  key?: string;
  url?: string;
  media_id?: string;
  appid?: string;
  pagepath?: string;
  article_id?: string;
  sub_button?: MenuButton[];
}

const Button: z.ZodType<MenuButton> = z.lazy(() =>
  z.looseObject({ name: z.string(), type: z.string().optional(), sub_button: z.array(Button).optional() }),
) as unknown as z.ZodType<MenuButton>;

export const MenuAnswer = z.looseObject({
  menu: z.looseObject({ button: z.array(Button) }),
  conditionalmenu: z.array(z.looseObject({ button: z.array(Button) })).optional(),
});
export type MenuAnswer = z.infer<typeof MenuAnswer>;

export function oaMenuApi(c: ApiCaller) {
  return {
    create: (button: MenuButton[]) => c.call({ method: 'POST', path: '/cgi-bin/menu/create', body: { button } }, OkAnswer),
    get: () => c.call({ method: 'GET', path: '/cgi-bin/menu/get' }, MenuAnswer),
    /** Deletes the default and every conditional menu. */
    delete: () => c.call({ method: 'GET', path: '/cgi-bin/menu/delete', idempotent: true }, OkAnswer),
  };
}
export type OaMenuApi = ReturnType<typeof oaMenuApi>;
